vcl 4.1;
# Varnish in front of nginx and kvm-fpm (deploy/README.md has the picture).
#
# Caching: a tenant decides with its response headers.  Cache-Control (or
# Expires) is honoured as Varnish always does (max-age, s-maxage, no-store,
# private, no-cache).  A response with neither header is NOT cached here,
# unlike Varnish's default of 2 minutes: a tenant that said nothing may be
# answering per user.  Requests with a Cookie or Authorization header, POSTs
# and live updates (X-LiveUpdate) are never cached.
#
# Run with `-a :8080 -a 127.0.0.1:8088,PROXY` (the second one for hitch),
# with nodes.vcl next to it.  `make run` and `make cluster` use this file
# as it is, with a nodes.vcl of their own (deploy/render.sh).

import directors;
import std;
import proxy;

# What Varnish asks each node: kvm-fpm answers its ping_path for any Host,
# through nginx; 503 while the node has not yet caught up with etcd
# (program_store = etcd), so a node that comes back gets traffic only once
# it serves the newest programs.
probe ping {
	.url = "/kvm-fpm/ping";
	.expected_response = 200;
	.interval = 1s;
	.timeout = 1s;
	.window = 5;
	.threshold = 3;
	.initial = 2;
}

sub vcl_init {
	# By Host on a consistent-hash ring: each tenant's requests (and its
	# uploads) go to one node while it is healthy, so its VMs stay warm
	# there and its upload's ban is never raced by a node still serving
	# the previous version.  A node that fails moves only its own
	# tenants elsewhere.
	new fleet = directors.shard();
}

# The nodes (nginx + kvm-fpm): one backend each, and a vcl_init adding
# each to the director.  Next to this file: one node on this machine in
# deploy/varnish/, one per node where deploy/render.sh writes it for
# `make cluster`.
include "./nodes.vcl";

sub vcl_recv {
	# One cache object per tenant and path, whatever the case or port.
	if (req.http.host) {
		set req.http.host = std.tolower(
		    regsub(req.http.host, "\.?(:[0-9]+)?$", ""));
	}
	# Only the shortcuts below set this: a tenant may trust it.
	unset req.http.X-Forwarded-Prefix;
	# The demo's shortcuts: /v ... /z (and /x/..., /x?...) are vpizza.com
	# ... zpizza.com.  Only for a Host that cannot be a tenant (an address
	# or localhost), so tenants keep their own /v ... /z.  The tenant is
	# told the prefix it was reached by, for its links (the menu's).
	if (!req.http.host ||
	    req.http.host ~ "^(localhost|[0-9.]+|\[[0-9a-f:.]+\])$") {
		if (req.url ~ "^/[v-z](/|\?|$)") {
			set req.http.host =
			    regsub(req.url, "^/([v-z]).*$", "\1pizza.com");
			set req.http.X-Forwarded-Prefix =
			    regsub(req.url, "^(/[v-z]).*$", "\1");
			set req.url = regsub(req.url, "^/[v-z]/?", "/");
		} elsif (req.url ~ "^/(cpp|rust)(/|\?|$)") {
			# The C++ and Rust examples: cpp.test and rust.test.
			set req.http.host =
			    regsub(req.url, "^/(cpp|rust).*$", "\1.test");
			set req.http.X-Forwarded-Prefix =
			    regsub(req.url, "^(/[a-z]+).*$", "\1");
			set req.url = regsub(req.url, "^/(cpp|rust)/?", "/");
		} elsif (req.url ~ "^/(\?|$)" &&
		         (req.method == "GET" || req.method == "HEAD")) {
			# A newcomer's first page: where to click.
			return (synth(750, "OK"));
		}
	}
	# Tenants (through nginx's X-Forwarded-For, which Varnish extends with
	# client.ip) see the client address; tell them the scheme too.
	if (proxy.is_ssl()) {
		set req.http.X-Forwarded-Proto = "https";
	} else {
		set req.http.X-Forwarded-Proto = "http";
	}
	# kvm-fpm's ping and status pages: always fresh.
	if (req.url ~ "^/kvm-fpm/") {
		return (pass);
	}
	# Uploads and other writes go to kvm-fpm every time.
	if (req.method == "POST" || req.http.X-LiveUpdate) {
		return (pass);
	}
	# Varnish's built-in vcl_recv follows (Cookie/Authorization: pass).
}

sub vcl_backend_fetch {
	# The tenant's node; on a retry the next healthy one on its ring.
	set bereq.backend = fleet.backend(by=KEY,
	    key=fleet.key(bereq.http.host), alt=bereq.retries, healthy=ALL);
}

sub vcl_backend_response {
	# nginx's 502: kvm-fpm on that node is gone.  Another node answers a
	# GET or HEAD, which has no effect to repeat.  (kvm-fpm's own errors,
	# a tenant's 500 or 504, are its answer, not retried.)
	if (beresp.status == 502 && bereq.retries < 2 &&
	    (bereq.method == "GET" || bereq.method == "HEAD")) {
		return (retry);
	}
	# A live update answered 200: the tenant runs a new program, so drop
	# what its old one said.  kvm-fpm's aliases are not known here; the
	# bare name and its www. form are banned (other aliases age out).
	if (bereq.method == "POST" && bereq.http.X-LiveUpdate &&
	    beresp.status == 200) {
		call ban_tenant;
	}
	# Bans match objects on this header, so the ban lurker can test them
	# in the background; vcl_deliver removes it.
	set beresp.http.X-Kvm-Fpm-Host = bereq.http.host;
	if (!beresp.http.Cache-Control && !beresp.http.Expires &&
	    !beresp.http.Surrogate-Control) {
		# Uncacheable for 10s ("hit-for-miss"): no request waits on
		# another's fetch, and a later cacheable answer is stored.
		set beresp.ttl = 10s;
		set beresp.uncacheable = true;
		return (deliver);
	}
	# Varnish's built-in vcl_backend_response follows.
}

sub ban_tenant {
	set bereq.http.X-Ban-Name = regsub(bereq.http.host, "^www\.", "");
	if (!std.ban("obj.http.X-Kvm-Fpm-Host == " + bereq.http.X-Ban-Name) ||
	    !std.ban("obj.http.X-Kvm-Fpm-Host == www." +
	             bereq.http.X-Ban-Name)) {
		std.log("live update: ban failed: " + std.ban_error());
	}
	unset bereq.http.X-Ban-Name;
}

sub vcl_deliver {
	unset resp.http.X-Kvm-Fpm-Host;
}

# nginx unreachable, or not answering in time: a small page, not Varnish's
# default "Guru Meditation".
sub vcl_backend_error {
	# The node did not answer (down, unreachable, or cut off mid-answer):
	# a GET or HEAD goes to the next node.
	if (bereq.retries < 2 &&
	    (bereq.method == "GET" || bereq.method == "HEAD")) {
		return (retry);
	}
	set beresp.http.Content-Type = "text/html; charset=utf-8";
	set beresp.http.Cache-Control = "no-store";
	set beresp.http.Retry-After = "5";
	synthetic({"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>"} + beresp.status + " " +
	    beresp.reason + {"</title></head>
<body><h1>Temporarily unavailable</h1>
<p>The site could not be reached just now. Please try again in a moment.</p>
<p><small>"} + beresp.status + " " + beresp.reason + ", request " +
	    bereq.xid + {"</small></p>
</body></html>
"});
	return (deliver);
}

sub vcl_synth {
	set resp.http.Content-Type = "text/html; charset=utf-8";
	set resp.http.Cache-Control = "no-store";
	if (resp.status == 750) {
		set resp.status = 200;
		call tenant_index;
		return (deliver);
	}
	synthetic({"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>"} + resp.status + " " +
	    resp.reason + {"</title></head>
<body><h1>"} + resp.status + " " + resp.reason + {"</h1>
<p><small>request "} + req.xid + {"</small></p>
</body></html>
"});
	return (deliver);
}

# The index at / on an address or localhost: the example tenants behind the
# shortcuts above, and the status page.
sub tenant_index {
	synthetic({"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>kvm-fpm</title></head>
<body><h1>kvm-fpm: the example tenants</h1>
<p>Each path below is a tenant, a program answering in its own tiny VM
(etc/kvm-fpm.ini). By name: <code>curl -H "Host: xpizza.com" ...</code></p>
<ul>
<li><a href="/v">/v</a> vpizza.com: hello (cached 60 s)</li>
<li><a href="/w">/w</a> wpizza.com: a counter that never moves (every request starts from the snapshot)</li>
<li><a href="/x">/x</a> xpizza.com: a pizza drawn per request; <a href="/x/olive,basil">/x/olive,basil</a> chooses toppings</li>
<li><a href="/y">/y</a> ypizza.com: your request as JSON</li>
<li><a href="/z">/z</a> zpizza.com: a menu from SQLite; <a href="/z/search?q=ham">/z/search?q=ham</a> asks it</li>
<li><a href="/cpp">/cpp</a> cpp.test: a glossary in C++</li>
<li><a href="/rust">/rust</a> rust.test: primes in Rust; <a href="/rust?n=10">/rust?n=10</a> is the tenth</li>
</ul>
<p><a href="/kvm-fpm/status">/kvm-fpm/status</a>: the server's status
(<a href="/kvm-fpm/status?json">JSON</a>,
<a href="/kvm-fpm/status?openmetrics">OpenMetrics</a>)</p>
</body></html>
"});
}
