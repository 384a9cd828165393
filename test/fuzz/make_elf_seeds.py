#!/usr/bin/env python3
"""Write the crafted ELF seeds of test/fuzz/corpus/elf: one tiny program
kvm-core accepts (a code and a data segment, the kvm-fpm ABI note, a
symbol table) and one variant per check it must refuse.  Tiny, so that
mutations land on fields that matter; the real programs' ELFs are seeds
too (see README.md).  Run: test/fuzz/make_elf_seeds.py test/fuzz/corpus/elf
"""
import os
import struct
import sys

BASE = 0x400000
NOTE_TYPE = 0x4B460001
PT_LOAD, PT_NOTE, PT_INTERP = 1, 4, 3
PF_X, PF_W, PF_R = 1, 2, 4


def note(version=1, name=b"kvm-fpm\0"):
    desc = struct.pack("<I", version)
    pad = (4 - len(name) % 4) % 4
    return struct.pack("<III", len(name), len(desc), NOTE_TYPE) + name + \
        b"\0" * pad + desc


def build(cls=2, data=1, machine=62, etype=2, entry_off=0, note_ver=1,
          code_flags=PF_R | PF_X, data_vaddr=None, data_filesz=None,
          data_off=None, extra_ph=(), symname=b"my_backend", truncate=None):
    """An ELF64 image; keyword arguments break one thing each."""
    ehsize, phentsize, shentsize = 64, 56, 64
    code = b"\x0f\x05" * 8 + b"\xc3"          # syscalls and a ret
    nt = note(note_ver)
    strtab = b"\0main\0" + symname + b"\0"
    shstr = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
    phs = 3 + len(extra_ph)
    off_note = ehsize + phs * phentsize
    # Compact in the file (kvm-core copies segments, it does not map
    # them, so offsets need not match addresses modulo the page size).
    off_code = (off_note + len(nt) + 15) & ~15
    off_data = off_code + 32
    datab = b"kvm-fpm seed data" + b"\0" * 15
    code_vaddr = BASE + 0x1000
    entry = code_vaddr + entry_off
    dvaddr = BASE + 0x2000 if data_vaddr is None else data_vaddr
    syms = struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)
    syms += struct.pack("<IBBHQQ", 1, 0x12, 0, 1, code_vaddr, 8)
    syms += struct.pack("<IBBHQQ", 6, 0x12, 0, 1, code_vaddr + 8, 9)
    off_sym = off_data + len(datab)
    off_str = off_sym + len(syms)
    off_shs = off_str + len(strtab)
    off_sh = (off_shs + len(shstr) + 7) & ~7

    ph = [
        (PT_LOAD, code_flags, off_code, code_vaddr, len(code), len(code)),
        (PT_LOAD, PF_R | PF_W, off_data if data_off is None else data_off,
         dvaddr, len(datab) if data_filesz is None else data_filesz,
         0x1000),
        (PT_NOTE, PF_R, off_note, 0, len(nt), len(nt)),
    ] + list(extra_ph)
    img = bytearray(off_sh + 5 * shentsize)
    ident = b"\x7fELF" + bytes([cls, data, 1, 0]) + b"\0" * 8
    img[0:64] = ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1,
                                    entry, ehsize, off_sh, 0, ehsize,
                                    phentsize, len(ph), shentsize, 5, 4)
    for i, (t, fl, off, va, fs, ms) in enumerate(ph):
        img[ehsize + i * phentsize:ehsize + (i + 1) * phentsize] = \
            struct.pack("<IIQQQQQQ", t, fl, off, va, va, fs, ms, 0x1000)
    img[off_note:off_note + len(nt)] = nt
    img[off_code:off_code + len(code)] = code
    img[off_data:off_data + len(datab)] = datab
    img[off_sym:off_sym + len(syms)] = syms
    img[off_str:off_str + len(strtab)] = strtab
    img[off_shs:off_shs + len(shstr)] = shstr
    shdrs = [
        (0, 0, 0, 0, 0, 0, 0, 0, 0),
        (1, 1, 6, code_vaddr, off_code, len(code), 0, 0, 0),   # .text
        (7, 2, 0, 0, off_sym, len(syms), 3, 1, 24),            # .symtab
        (15, 3, 0, 0, off_str, len(strtab), 0, 0, 0),          # .strtab
        (23, 3, 0, 0, off_shs, len(shstr), 0, 0, 0),           # .shstrtab
    ]
    for i, (nm, ty, fl, ad, of, sz, ln, inf, es) in enumerate(shdrs):
        img[off_sh + i * shentsize:off_sh + (i + 1) * shentsize] = \
            struct.pack("<IIQQQQIIQQ", nm, ty, fl, ad, of, sz, ln, inf,
                        8, es)
    return bytes(img[:truncate] if truncate else img)


SEEDS = {
    "tiny-valid": {},
    "class32": {"cls": 1},
    "big-endian": {"data": 2},
    "machine-arm": {"machine": 183},
    "pie": {"etype": 3},
    "relocatable": {"etype": 1},
    "abi-version-2": {"note_ver": 2},
    "write-exec": {"code_flags": PF_R | PF_W | PF_X},
    "entry-in-data": {"entry_off": 0x1000},
    "overlap": {"data_vaddr": BASE + 0x1008},
    "below-min": {"data_vaddr": 0x1000},
    "past-max-memory": {"data_vaddr": 1 << 40},
    "filesz-gt-memsz": {"data_filesz": 0x2000},
    "past-eof": {"data_off": 0x7fffffff},
    "interp": {"extra_ph": [(PT_INTERP, PF_R, 0, 0, 1, 1)]},
    "truncated-phdrs": {"truncate": 100},
    "truncated-header": {"truncate": 40},
    "symbol-newline": {"symname": b"evil\n[notice] forged line"},
}

if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, kw in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(build(**kw))
