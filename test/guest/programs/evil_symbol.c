/* Hostile tenant: faults in a function whose symbol name holds a forged
 * log record.  The assembler cannot put a newline into a name, so the
 * tests turn its "~~" into CR LF in the ELF's string table: the fault
 * report would then forge a line of the server's log if it went there
 * unescaped. */
#include "kvm-fpm.h"

/* The name is only expressible in assembler; evil_entry is an untyped
 * label at the same address for C to call. */
__asm__(".text\n"
        ".globl evil_entry\n"
        ".type \"evil~~2026-01-01T00:00:00Z [notice] [pid 1] live "
        "update\", @function\n"
        "evil_entry:\n"
        "\"evil~~2026-01-01T00:00:00Z [notice] [pid 1] live update\":\n"
        "\tmovq $0, %rax\n"
        "\tmovl $1, (%rax)\n"
        "\tret\n"
        ".size \"evil~~2026-01-01T00:00:00Z [notice] [pid 1] live "
        "update\", . - evil_entry\n");

void evil_entry(void);

void my_backend(const char *url)
{
	(void)url;
	evil_entry();
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
