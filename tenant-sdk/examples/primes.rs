//! A Rust tenant: a sieve computed once in main(), answered per request.
//! "/" says how many primes it knows, "/?n=10" gives the tenth, a bad n is
//! a 400 and one out of range a 404.
use kvm_fpm::{serve, Request, Response};

const LIMIT: usize = 100_000;

fn sieve(limit: usize) -> Vec<u32> {
    let mut composite = vec![false; limit];
    let mut primes = Vec::new();
    for n in 2..limit {
        if !composite[n] {
            primes.push(n as u32);
            let mut m = n * n;
            while m < limit {
                composite[m] = true;
                m += n;
            }
        }
    }
    primes
}

fn main() {
    let primes = sieve(LIMIT);
    eprintln!("primes: {} below {}", primes.len(), LIMIT);
    serve(move |req: &Request| {
        let n = match req.query_param("n") {
            None => {
                return Response::text(format!(
                    "{} primes below {}; ask /?n=10\n",
                    primes.len(),
                    LIMIT
                ))
            }
            Some(n) => n,
        };
        match n.parse::<usize>() {
            Err(e) => Response::text(format!("n={:?}: {}\n", n, e)).status(400),
            Ok(0) => Response::text("n counts from 1\n").status(404),
            Ok(i) => match primes.get(i - 1) {
                Some(p) => Response::text(format!("prime number {} is {}\n", i, p))
                    .header("Cache-Control", "public, max-age=3600"),
                None => Response::text(format!("only {} primes here\n", primes.len())).status(404),
            },
        }
    })
}
