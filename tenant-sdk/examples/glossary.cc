// A C++ tenant: a glossary built in main() with the standard library,
// answered per request.  "/" lists the terms, "/snapshot" defines one,
// an unknown term is a 404 (std::map::at throws; the handler catches).
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "kvm-fpm.h"

static std::map<std::string, std::string> glossary;

int main()
{
	glossary = {
	    {"snapshot", "the VM as main() left it; every request starts "
	                 "from it"},
	    {"tenant", "a program like this one, serving one site"},
	    {"reset", "what happens after each request: written pages go "
	              "back to the snapshot"},
	};
	std::clog << "glossary: " << glossary.size() << " terms" << std::endl;
	return 0; // ready: the snapshot is taken here
}

static std::string define(const std::string &term)
{
	std::ostringstream page;

	page << "<h1>" << term << "</h1>\n<p>" << glossary.at(term) << "</p>\n";
	return page.str();
}

// The X-Forwarded-Prefix a proxy sent (Varnish's /cpp shortcut), when it
// is a plain path: links go under it.  "" otherwise.
static std::string link_prefix()
{
	const char *h = request_header("X-Forwarded-Prefix");
	std::string p = h ? h : "";

	if (p.size() < 2 || p.size() > 64 || p[0] != '/' || p.back() == '/' ||
	    p.find_first_not_of("/abcdefghijklmnopqrstuvwxyz0123456789._-") !=
	        std::string::npos)
		return "";
	return p;
}

extern "C" void my_backend(const char *url)
{
	std::string path(url), page;

	path = path.substr(0, path.find('?'));
	if (path == "/") {
		std::ostringstream list;
		list << "<h1>Glossary</h1>\n<ul>\n";
		for (const auto &entry : glossary)
			list << "<li><a href=\"" << link_prefix() << "/"
			     << entry.first << "\">" << entry.first
			     << "</a></li>\n";
		list << "</ul>\n";
		page = list.str();
	} else {
		try {
			page = define(path.substr(1));
		} catch (const std::out_of_range &) {
			std::clog << "glossary: no term " << path << std::endl;
			backend_response_str(404, "text/html",
			                     "<h1>No such term</h1>\n");
		}
	}
	// Caches keep one copy per prefix.
	response_header("Vary", "X-Forwarded-Prefix");
	response_header("Cache-Control", "public, max-age=60");
	backend_response(200, "text/html", page.data(), page.size());
}
