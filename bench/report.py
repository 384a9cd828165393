#!/usr/bin/env python3
"""Turn the raw benchmark output into the markdown table of `make bench`.

    report.py RAW_DIR > bench/results/latest.md
    report.py --splice DOC LATEST   (rewrite DOC between its markers)

RAW_DIR holds micro.txt and e2e.txt ("key value" lines), optional
strace-PROG-N.txt files (strace -c -f of `micro --loop PROG N`) and
host.txt ("key value" lines about the machine and the run).
"""
import os
import re
import sys

BEGIN = "<!-- bench:begin (make bench rewrites this section) -->"
END = "<!-- bench:end -->"


def read_kv(path):
    kv = {}
    if not os.path.exists(path):
        return kv
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 1)
            if len(parts) == 2:
                kv[parts[0]] = parts[1]
    return kv


def read_strace(path):
    """calls per syscall from strace -c output"""
    calls = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$",
                         line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    return calls


def strace_per_request(raw, prog):
    """(requests, {syscall: calls per request}) from the two loop runs"""
    runs = {}
    for name in os.listdir(raw):
        m = re.match(r"strace-%s-(\d+)\.txt$" % re.escape(prog), name)
        if m:
            runs[int(m.group(1))] = read_strace(os.path.join(raw, name))
    if 0 not in runs or len(runs) < 2:
        return 0, {}
    n = max(runs)
    per = {}
    for sc in set(runs[n]) | set(runs[0]):
        d = runs[n].get(sc, 0) - runs[0].get(sc, 0)
        if d:
            per[sc] = d / n
    return n, per


def f(kv, key, default=None):
    try:
        return float(kv[key])
    except (KeyError, ValueError):
        return default


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, digits=2):
    return "—" if x is None else "%.*f" % (digits, x)


def mark(value, op, bound):
    if value is None:
        return "not measured"
    ok = value <= bound if op == "<=" else value >= bound
    return "**met**" if ok else "**missed**"


def report(raw):
    m = read_kv(os.path.join(raw, "micro.txt"))
    e = read_kv(os.path.join(raw, "e2e.txt"))
    h = read_kv(os.path.join(raw, "host.txt"))
    out = []
    w = out.append

    floor = f(m, "floor_ring0_us")
    user = f(m, "floor_user_us")
    hello = f(m, "hello_us")
    dirty = f(m, "dirty64_us")
    boot = f(m, "cold_boot_us")
    bare = f(m, "cold_bare_us")
    beyond = f(m, "mem_beyond_per_vm_kib")
    kvm, native, php, cgi = (f(e, "e2e_%s_rps" % b)
                             for b in ("kvm", "native", "php", "cgi"))
    p99k, p99n = f(e, "e2e_kvm_p99_ms"), f(e, "e2e_native_p99_ms")
    t1, t100 = f(e, "e2e_tenants1_rps"), f(e, "e2e_tenants100_rps")

    w("Run: `%s` on %s, %s (%s CPUs, kernel %s, KVM: %s); load average "
      "at start %s. Figures are from this one run; other work on the "
      "machine makes them noisy." % (
          h.get("command", "make bench"), h.get("date", "?"),
          h.get("cpu", "?"), h.get("cpus", "?"), h.get("kernel", "?"),
          h.get("kvm", "?"), h.get("load", "?")))
    w("")
    w("### Targets (issue 7)")
    w("")
    w("| figure | target | measured | |")
    w("|---|---|---|---|")
    rows = [
        ("per-request cost, hello / KVM_RUN floor", "≤ 2.0",
         ratio(hello, floor), "<=", 2.0,
         "%s µs / %s µs" % (fmt(hello), fmt(floor))),
        ("per-request cost, 64 dirty pages / KVM_RUN floor", "≤ 4.0",
         ratio(dirty, floor), "<=", 4.0,
         "%s µs / %s µs" % (fmt(dirty), fmt(floor))),
        ("cold start / bare VM+vCPU creation", "≤ 3.0",
         ratio(boot, bare), "<=", 3.0,
         "%s µs / %s µs" % (fmt(boot, 0), fmt(bare, 0))),
        ("memory per resident tenant VM beyond program pages", "≤ 64 KiB",
         beyond, "<=", 64, "KiB of RSS per VM, %s VMs" % m.get("mem_vms")),
        ("e2e req/s, kvm-fpm / native libfcgi", "≥ 0.90",
         ratio(kvm, native), ">=", 0.9,
         "%s / %s req/s" % (fmt(kvm, 0), fmt(native, 0))),
        ("e2e req/s, kvm-fpm / PHP-FPM", "≥ 1.5", ratio(kvm, php), ">=", 1.5,
         "%s / %s req/s" % (fmt(kvm, 0), fmt(php, 0))),
        ("e2e p99, kvm-fpm / native libfcgi", "≤ 1.2", ratio(p99k, p99n),
         "<=", 1.2, "%s ms / %s ms" % (fmt(p99k), fmt(p99n))),
        ("e2e req/s, 100 tenants / 1 tenant", "≥ 0.8", ratio(t100, t1), ">=",
         0.8, "%s / %s req/s" % (fmt(t100, 0), fmt(t1, 0))),
    ]
    for name, target, value, op, bound, detail in rows:
        w("| %s | %s | %s (%s) | %s |" % (name, target, fmt(value), detail,
                                         mark(value, op, bound)))
    w("")
    w("The floor in the first two rows is a ring-0 `out` re-entered "
      "through sync regs, as issue 7 defines it.  Requests no longer run "
      "guest ring-0 code: issue 14's table compares them with the floor "
      "of their own path instead.")
    w("")
    umm = f(m, "floor_user_mmio_us")
    p50k, p50n = f(e, "e2e_kvm_p50_ms"), f(e, "e2e_native_p50_ms")
    w("### Targets (issue 14: the request path)")
    w("")
    w("| figure | target | measured | |")
    w("|---|---|---|---|")
    rows14 = [
        ("hello per request / bare user-mode floor (host enters user mode, "
         "user code leaves by a store to an unbacked page)", "≤ 1.25",
         ratio(hello, umm), "<=", 1.25,
         "%s µs / %s µs" % (fmt(hello), fmt(umm))),
        ("hello per request / the old empty round trip (ring 0, `sysretq`, "
         "`ud2`, #UD, `out`)", "≤ 0.9", ratio(hello, user), "<=", 0.9,
         "%s µs / %s µs" % (fmt(hello), fmt(user))),
        ("e2e req/s, kvm-fpm / native libfcgi", "≥ 0.9",
         ratio(kvm, native), ">=", 0.9,
         "%s / %s req/s" % (fmt(kvm, 0), fmt(native, 0))),
        ("e2e p50 latency, kvm-fpm / native libfcgi", "≤ 1.2",
         ratio(p50k, p50n), "<=", 1.2,
         "%s ms / %s ms" % (fmt(p50k), fmt(p50n))),
    ]
    for name, target, value, op, bound, detail in rows14:
        w("| %s | %s | %s (%s) | %s |" % (name, target, fmt(value), detail,
                                         mark(value, op, bound)))
    w("")
    w("### Micro (in process, pinned to CPU %s)" % m.get("cpu", "?"))
    w("")
    w("| figure | median | p10 | p90 | samples |")
    w("|---|---|---|---|---|")
    for key, name in (
            ("floor_ring0_raw", "KVM_RUN floor: ring-0 `out`, re-entered "
             "without writing registers"),
            ("floor_ring0", "KVM_RUN floor: ring-0 `out`, registers set "
             "through sync regs (kvm-core's way)"),
            ("floor_user", "user-mode round trip: CR3 reload, sysret, user "
             "`ud2`, #UD, `out` (kvm-core's request path until issue 14, "
             "empty)"),
            ("floor_user_out", "user-mode `out` with IOPL 3 (TinyKVM's "
             "hypercall), re-entered in user mode"),
            ("floor_ring0_loop", "ring-0 floor with 128 instructions (a "
             "`dec`/`jnz` loop) before the `out`"),
            ("floor_user_loop", "user-mode round trip with the same loop "
             "in user mode before the `ud2`"),
            ("floor_user_mmio", "user-mode floor of kvm-core's request "
             "path: the host enters user mode (registers through sync "
             "regs), user code stores to an unbacked page"),
            ("hello", "request, hello: reset + enter + my_backend + "
             "collect"),
            ("dirty64", "request, 64 dirty pages: the same"),
            ("cold_boot", "cold start: kc_image_boot(hello): load ELF, "
             "main(), snapshot"),
            ("cold_bare", "bare VM: KVM_CREATE_VM + memory slot + "
             "KVM_CREATE_VCPU + kvm_run mmap"),
            ("cold_vm", "kc_vm_create on a booted image (a worker's first "
             "request to a tenant)"),
            ("rr1", "hello request, 1 VM (memory test's VMs)"),
            ("rr10", "hello request, round-robin over 10 VMs"),
            ("rr100", "hello request, round-robin over 100 VMs")):
        if key + "_us" not in m:
            continue
        w("| %s | %s µs | %s | %s | %s |" % (
            name, fmt(f(m, key + "_us")), fmt(f(m, key + "_p10_us")),
            fmt(f(m, key + "_p90_us")), m.get(key + "_samples", "—")))
    w("")
    r0l, ul = f(m, "floor_ring0_loop_us"), f(m, "floor_user_loop_us")
    if r0l is not None and ul is not None and floor and user:
        w("128 instructions cost %s µs more in guest ring 0 (%s µs each: "
          "the hypervisor emulates them) and %s µs more in guest user mode "
          "(native)." % (fmt(r0l - floor), fmt((r0l - floor) / 128, 3),
                         fmt(ul - user)))
        w("")
    if "floor_user_out_fault_rflags" in m:
        w("A user-mode `out` with IOPL 3 (TinyKVM's direct hypercall) is "
          "not available on this host: the guest takes #GP, and the "
          "exception frame shows RFLAGS %s although the host asked for "
          "IOPL 3 (0x3202): the hypervisor clears IOPL in guest user mode."
          % m["floor_user_out_fault_rflags"])
        w("")
    w("| per request | hello | 64 dirty pages |")
    w("|---|---|---|")
    for key, name in (("exits", "KVM exits (kc_vm_stats)"),
                      ("pages_restored", "pages restored (kc_vm_stats)"),
                      ("pages_zeroed", "pages zeroed (kc_vm_stats)"),
                      ("sregs_restores",
                       "segments put back (kc_vm_stats)"),
                      ("fresh_unmaps",
                       "fresh ranges KVM forgot (kc_vm_stats)"),
                      ("ioctls", "ioctls (counted in process)")):
        w("| %s | %s | %s |" % (name, m.get("hello_" + key, "—"),
                                m.get("dirty64_" + key, "—")))
    for prog in ("hello", "dirty64"):
        n, per = strace_per_request(raw, prog)
        if n:
            calls = ", ".join("%s %.2f" % (k, v) for k, v in
                              sorted(per.items(), key=lambda x: -x[1]))
            w("| system calls, %s (strace -c -f, %d requests) | %s | |" % (
                prog, n, calls) if prog == "hello" else
              "| system calls, %s (strace -c -f, %d requests) | | %s |" % (
                  prog, n, calls))
    w("| KVM exits while booting (main()) | %s | %s |" % (
        m.get("hello_boot_exits", "—"), m.get("dirty64_boot_exits", "—")))
    w("| snapshot (the program's own pages) | %s KiB | %s KiB |" % (
        m.get("hello_snapshot_kib", "—"), m.get("dirty64_snapshot_kib", "—")))
    w("")
    w("Memory, %s hello VMs on one image, each having served one request "
      "(per VM):" % m.get("mem_vms", "?"))
    w("")
    w("| | KiB per VM |")
    w("|---|---|")
    w("| RSS growth, all of it | %s |" % m.get("mem_rss_per_vm_kib", "—"))
    w("| of which guest memory mappings (the program's pages: snapshot "
      "pages mapped, private copies of dirtied pages) | %s |" %
      m.get("mem_guest_per_vm_kib", "—"))
    w("| **beyond the program's pages** (kvm_run mapping, VM structures, "
      "restore bitmap) | **%s** |" % m.get("mem_beyond_per_vm_kib", "—"))
    w("| of which the kvm_run mapping | %s |" %
      m.get("mem_vcpu_map_per_vm_kib", "—"))
    if "mem_tenants" in m:
        w("| for comparison, %s tenants booted in one process (an image "
          "each, with its VM): RSS growth / guest mappings / beyond, per "
          "tenant | %s / %s / %s |" % (
              m["mem_tenants"], m.get("mem_tenants_rss_kib", "—"),
              m.get("mem_tenants_guest_kib", "—"),
              m.get("mem_tenants_beyond_kib", "—")))
    w("")
    k = read_kv(os.path.join(raw, "kmem.txt"))
    if k:
        w("Kernel memory, which RSS does not show (bench/kmem.sh: "
          "/proc/meminfo and /proc/slabinfo before and while %s hello VMs "
          "are held; machine-wide, so other work adds noise):" %
          k.get("kmem_vms", "?"))
        w("")
        w("| | KiB per VM |")
        w("|---|---|")
        for key, name in (
                ("VmallocUsed", "VmallocUsed (KVM's memslot metadata, "
                 "sized by the memory slots)"),
                ("Slab", "Slab"),
                ("KernelStack", "KernelStack"),
                ("PageTables", "PageTables (host page tables)"),
                ("SecPageTables", "SecPageTables (KVM's shadow pages)")):
            w("| %s | %s |" % (name, k.get("kmem_%s_kib" % key, "—")))
        slabs = sorted(((kk[len("kmem_slab_"):-len("_kib")], float(v))
                        for kk, v in k.items()
                        if kk.startswith("kmem_slab_")),
                       key=lambda x: -x[1])
        if slabs:
            w("| largest slab growth | %s |" % ", ".join(
                "%s %.1f" % x for x in slabs[:5]))
        mf = f(k, "kmem_MemFree_kib")
        w("| MemFree drop, everything (user and kernel) | %s |" %
          fmt(-mf if mf is not None else None, 1))
        w("")

    w("### End to end (nginx → FastCGI on loopback)")
    w("")
    w("wrk -t%s -c%s -d%ss --latency, %s rounds interleaving the backends "
      "(figures: the mean of the rounds), after one %ss warm-up run each; "
      "%s workers per backend; one nginx worker with `fastcgi_keep_conn "
      "on`, upstream `keepalive %s` for the libfcgi and PHP-FPM backends "
      "(below their pool: they are pinned by a kept connection) and "
      "`keepalive %s` for kvm-fpm (its workers are not)." % (
          e.get("e2e_threads", "?"), e.get("e2e_connections", "?"),
          e.get("e2e_duration_s", "?"), e.get("e2e_rounds", "?"),
          e.get("e2e_warmup_s", "?"), e.get("e2e_workers", "?"),
          e.get("e2e_keepalive", "?"), e.get("e2e_kvm_keepalive", "?")))
    w("")
    w("| backend | req/s | p50 ms | p99 ms | kvm-fpm req/s ratio | "
      "kvm-fpm p99 ratio | errors | backend CPU µs/req | nginx CPU µs/req |")
    w("|---|---|---|---|---|---|---|---|---|")
    for key, name in (
            ("kvm", "kvm-fpm, hello, reset after every request"),
            ("native", "native prefork libfcgi C (the ceiling)"),
            ("php", "PHP-FPM (%s, pm = static)" % e.get("e2e_php", "php")),
            ("cgi", "fcgiwrap + a compiled C CGI per request"),
            ("kvmka1", "kvm-fpm again, with the peers' `keepalive %s`" %
             e.get("e2e_keepalive", "?"))):
        if "e2e_%s_rps" % key not in e:
            continue
        rps, p99 = f(e, "e2e_%s_rps" % key), f(e, "e2e_%s_p99_ms" % key)
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt(rps, 0), fmt(f(e, "e2e_%s_p50_ms" % key)), fmt(p99),
            "—" if key.startswith("kvm") else fmt(ratio(kvm, rps)),
            "—" if key.startswith("kvm") else fmt(ratio(p99k, p99)),
            e.get("e2e_%s_bad" % key, "—"),
            fmt(f(e, "e2e_%s_backend_cpu_us" % key), 1),
            fmt(f(e, "e2e_%s_nginx_cpu_us" % key), 1)))
    w("")
    w("| kvm-fpm, tenants round-robin (each request another Host) | req/s "
      "| p50 ms | p99 ms | vs 1 tenant |")
    w("|---|---|---|---|---|")
    for n in ("1", "10", "100"):
        rps = f(e, "e2e_tenants%s_rps" % n)
        w("| %s | %s | %s | %s | %s |" % (
            n, fmt(rps, 0), fmt(f(e, "e2e_tenants%s_p50_ms" % n)),
            fmt(f(e, "e2e_tenants%s_p99_ms" % n)), fmt(ratio(rps, t1))))
    same = [k for k in ("native", "php", "cgi")
            if e.get("e2e_%s_same_body" % k) == "1"]
    w("")
    w("Bodies identical to kvm-fpm's (the time in the page masked): %s." %
      (", ".join(same) if same else "none"))
    return "\n".join(out) + "\n"


def splice(doc, latest):
    with open(doc) as fd:
        text = fd.read()
    with open(latest) as fd:
        table = fd.read()
    a, b = text.find(BEGIN), text.find(END)
    if a < 0 or b < a:
        sys.exit("report.py: %s has no %s ... %s markers" % (doc, BEGIN, END))
    text = text[:a + len(BEGIN)] + "\n" + table + text[b:]
    with open(doc, "w") as fd:
        fd.write(text)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--splice":
        splice(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2:
        sys.stdout.write(report(sys.argv[1]))
    else:
        sys.exit(__doc__)
