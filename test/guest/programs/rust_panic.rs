//! Rust std under kvm-fpm-rustc: a caught panic, an uncaught one.
use kvm_fpm::{serve, Request, Response};
use std::collections::HashMap;

fn main() {
    let mut answers = HashMap::new();
    answers.insert("/", "ok\n".to_string());
    serve(move |req: &Request| match req.path() {
        "/caught" => {
            let r = std::panic::catch_unwind(|| panic!("caught boom"));
            let msg = r.unwrap_err().downcast::<&str>().map(|s| *s).unwrap_or("?");
            Response::text(format!("caught: {}\n", msg))
        }
        "/uncaught" => panic!("uncaught boom {}", 42),
        path => Response::text(answers.get(path).cloned().unwrap_or_default()),
    })
}
