# The nodes behind Varnish, included by default.vcl: one backend per node
# (nginx in front of kvm-fpm), each probed with default.vcl's `ping` and
# added to its director `fleet`.  Here, one node on this machine; for
# several, one backend each by its address, as deploy/render.sh writes
# for `make cluster` (deploy/README.md).

backend node1 {
	.host = "127.0.0.1";
	.port = "8081";
	.connect_timeout = 2s;
	# Above nginx's fastcgi_read_timeout (30s): nginx answers 504 first.
	.first_byte_timeout = 35s;
	.between_bytes_timeout = 10s;
	.probe = ping;
}

sub vcl_init {
	fleet.add_backend(node1);
}
