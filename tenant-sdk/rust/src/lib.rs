//! The kvm-fpm tenant API for Rust.
//!
//! `main()` prepares whatever every request needs, then hands a handler to
//! [`serve`]; the VM is snapshotted there and each request runs the handler
//! from that snapshot.  Whatever a request changes is gone at the next.
//!
//! ```no_run
//! use kvm_fpm::{serve, Request, Response};
//!
//! fn main() {
//!     let greeting = format!("<h1>Hello from Rust</h1>\n");
//!     serve(move |req: &Request| {
//!         Response::html(format!("{}<p>{}</p>\n", greeting, req.path()))
//!     })
//! }
//! ```
//!
//! A panic in the handler is logged (the standard panic message goes to
//! stderr, which is the server log) and ends the request with a 500.
//! Build with `kvm-fpm-rustc` or the cargo recipe in the README: the
//! program must be static (`+crt-static`, `relocation-model=static`).

#![warn(missing_docs)]

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::io::Write;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{self, AssertUnwindSafe};

#[cfg(not(target_feature = "crt-static"))]
compile_error!(
    "kvm-fpm tenants are static programs: build with -C target-feature=+crt-static \
     -C relocation-model=static (kvm-fpm-rustc does; see README for cargo)"
);

mod ffi {
    use super::*;

    // The SDK runtime for glibc (tenant-sdk/runtime), bundled into this rlib.
    #[link(name = "kvmfpm-glibc", kind = "static")]
    extern "C" {
        pub fn backend_response(
            status: c_int,
            content_type: *const c_char,
            body: *const c_void,
            len: usize,
        ) -> !;
        pub fn response_header(name: *const c_char, value: *const c_char) -> c_int;
        pub fn request_method() -> *const c_char;
        pub fn request_uri() -> *const c_char;
        pub fn request_query() -> *const c_char;
        pub fn request_remote_addr() -> *const c_char;
        pub fn request_header(name: *const c_char) -> *const c_char;
        pub fn request_body(len: *mut usize) -> *const c_void;
        pub fn wait_for_requests() -> !;
        pub fn breakpoint();
    }
}

type Handler = Box<dyn FnMut(&Request) -> Response>;

thread_local! {
    static HANDLER: RefCell<Option<Handler>> = RefCell::new(None);
}

/// The request being served.  Only the handler sees one, for the length
/// of the call: its strings live in the request's read-only memory.
pub struct Request {
    // Not Send, not Sync, not constructible outside this crate.
    _not_send: PhantomData<*const ()>,
}

/// The bytes of a C string from the runtime; empty for NULL.
fn bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: the runtime hands out NUL-terminated strings in the request
    // area, which stays mapped and unchanged until the request ends; the
    // caller ties the lifetime to a &Request.
    unsafe { CStr::from_ptr(p).to_bytes() }
}

/// Text up to the first byte that is not UTF-8 (the `_bytes` accessors
/// give everything).
fn text(b: &[u8]) -> &str {
    match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
    }
}

impl Request {
    /// The method: "GET", "POST", ...
    pub fn method(&self) -> &str {
        text(bytes(unsafe { ffi::request_method() }))
    }

    /// The URI as sent, path and query: "/a/b?x=1".
    pub fn uri(&self) -> &str {
        text(self.uri_bytes())
    }

    /// The URI's bytes, exactly as sent.
    pub fn uri_bytes(&self) -> &[u8] {
        bytes(unsafe { ffi::request_uri() })
    }

    /// The path: the URI up to the '?'.
    pub fn path(&self) -> &str {
        let uri = self.uri();
        uri.split('?').next().unwrap_or(uri)
    }

    /// The query string, without the '?'; "" when there is none.
    pub fn query(&self) -> &str {
        text(bytes(unsafe { ffi::request_query() }))
    }

    /// The value of `key` in the query ("a=1&b=2"), as sent (not
    /// percent-decoded); `Some("")` for a bare "key".
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query().split('&').find_map(|kv| {
            let mut it = kv.splitn(2, '=');
            if it.next() == Some(key) {
                Some(it.next().unwrap_or(""))
            } else {
                None
            }
        })
    }

    /// The client's address.
    pub fn remote_addr(&self) -> &str {
        text(bytes(unsafe { ffi::request_remote_addr() }))
    }

    /// A request header by name, case-insensitive, '-' and '_' alike.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name).map(text)
    }

    /// A request header's bytes, exactly as sent.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        let name = CString::new(name).ok()?;
        let p = unsafe { ffi::request_header(name.as_ptr()) };
        if p.is_null() {
            None
        } else {
            Some(bytes(p))
        }
    }

    /// The request body (POST, PUT); empty when there is none.
    pub fn body(&self) -> &[u8] {
        let mut len = 0usize;
        let p = unsafe { ffi::request_body(&mut len) };
        if p.is_null() || len == 0 {
            return b"";
        }
        // SAFETY: the runtime's body pointer covers len bytes of the
        // read-only request area for the whole request.
        unsafe { std::slice::from_raw_parts(p as *const u8, len) }
    }
}

/// A response: status, content type, headers and body.
pub struct Response {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response with this status, content type and body.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// 200, text/html in UTF-8.
    pub fn html(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200, "text/html; charset=utf-8", body)
    }

    /// 200, text/plain in UTF-8.
    pub fn text(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200, "text/plain; charset=utf-8", body)
    }

    /// The same response with another status.
    pub fn status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// The same response with one more header.  A name that is not an
    /// HTTP token, CR or LF in the value, or over 16 KiB of headers in
    /// all fail the request (500, the reason in the log).
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn send(self) -> ! {
        let _ = std::io::stdout().flush();
        for (name, value) in &self.headers {
            let (n, v) = match (CString::new(name.as_str()), CString::new(value.as_str())) {
                (Ok(n), Ok(v)) => (n, v),
                _ => panic!("response header {:?} contains a NUL byte", name),
            };
            if unsafe { ffi::response_header(n.as_ptr(), v.as_ptr()) } != 0 {
                panic!(
                    "response header {:?} refused: not a token, CR or LF in \
                     the value, or over 16 KiB of headers",
                    name
                );
            }
        }
        let ct = CString::new(self.content_type)
            .unwrap_or_else(|_| panic!("the content type contains a NUL byte"));
        unsafe {
            ffi::backend_response(
                c_int::from(self.status),
                ct.as_ptr(),
                self.body.as_ptr() as *const c_void,
                self.body.len(),
            )
        }
    }
}

/// Declare initialisation done and serve every request with `handler`.
/// The state at this point is the snapshot each request starts from.
/// Never returns; returning from `main()` instead ends the program (the
/// server reports that `main()` exited).
pub fn serve<F>(handler: F) -> !
where
    F: FnMut(&Request) -> Response + 'static,
{
    HANDLER.with(|h| *h.borrow_mut() = Some(Box::new(handler)));
    // A strong reference, so that the linker keeps the entry point the
    // runtime only refers to weakly.
    let entry: extern "C" fn(*const c_char) = my_backend;
    std::hint::black_box(entry);
    let _ = std::io::stdout().flush();
    unsafe { ffi::wait_for_requests() }
}

/// Stop here for GDB when the tenant has `allow_debug = yes`; a no-op
/// otherwise.
pub fn breakpoint() {
    unsafe { ffi::breakpoint() }
}

/// The runtime's per-request entry.  A panic must not unwind into the C
/// runtime: it is caught here, and since the standard hook has already
/// logged its message, the request is ended (SIGABRT, a 500).
#[no_mangle]
pub extern "C" fn my_backend(_url: *const c_char) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let req = Request {
            _not_send: PhantomData,
        };
        let resp = HANDLER.with(|h| match h.borrow_mut().as_mut() {
            Some(f) => f(&req),
            None => panic!("kvm_fpm::serve() was not called"),
        });
        resp.send()
    }));
    eprintln!("kvm-fpm: the handler panicked; the request fails with 500");
    std::process::abort();
}
