// C++ under kvm-fpm-c++: iostream to the log, a caught exception, an
// uncaught one (std::terminate, abort) and a std::mutex locked twice.
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "kvm-fpm.h"

static std::string greeting;

int main()
{
	std::ostringstream s;

	s << "built in main() " << 6 * 7;
	greeting = s.str();
	std::cout << "booted" << std::endl;
	return 0;
}

static void answer(const std::string &body)
{
	backend_response(200, "text/plain", body.data(), body.size());
}

extern "C" void my_backend(const char *url)
{
	std::string u(url);

	if (u == "/caught") {
		try {
			throw std::runtime_error("bad input");
		} catch (const std::exception &e) {
			answer(std::string("caught: ") + e.what() + "\n");
		}
	}
	if (u == "/uncaught")
		throw std::logic_error("nobody catches this");
	if (u == "/mutex") {
		static std::mutex m;
		m.lock();
		m.lock();
	}
	std::cout << "cout " << u << std::endl;
	std::cerr << "cerr " << 7 << std::endl;
	answer(greeting + "\n");
}
