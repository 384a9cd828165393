<?php
// The hello page for the PHP-FPM peer: the bytes of
// tenant-sdk/examples/hello, built per request as PHP does.
header('Content-Type: text/html; charset=utf-8');
header('Cache-Control: public, max-age=60');
header_remove('X-Powered-By');
echo "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\">",
	"<title>kvm-fpm</title></head>\n<body>\n<h1>Hello from kvm-fpm</h1>\n",
	"<p>Page prepared at Unix time ", $_SERVER['REQUEST_TIME'], ".</p>\n",
	"<p>You asked for <code>",
	htmlspecialchars($_SERVER['REQUEST_URI'], ENT_QUOTES | ENT_HTML5),
	"</code></p>\n</body>\n</html>\n";
