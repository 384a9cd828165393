#!/usr/bin/env python3
"""Check that a library's objects call one another in layers, never round.

    scripts/check-layers.py [-v] OBJ...

An object depends on another when it uses a global symbol the other
defines (read with nm).  Any cycle among the objects is printed with the
symbols that make it, and the exit status is 1.  With -v the layers are
printed, lowest first: each object calls only objects of lower layers.
"""
import subprocess
import sys


def symbols(obj):
    """(defined, undefined) global symbols of one object file."""
    out = subprocess.run(["nm", "-g", obj], check=True, capture_output=True,
                         text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] not in "Uw":
            defined.add(parts[2])
    return defined, undefined


def strongly_connected(nodes, edges):
    """Tarjan's algorithm: the components of the graph, in reverse
    topological order (a component comes after those it depends on)."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def main(argv):
    verbose = argv[:1] == ["-v"]
    objs = argv[1:] if verbose else argv
    if not objs:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    owner, uses = {}, {}
    for o in objs:
        defined, undefined = symbols(o)
        uses[o] = undefined
        for s in defined:
            owner[s] = o
    edges = {o: set() for o in objs}
    why = {}
    for o in objs:
        for s in uses[o]:
            d = owner.get(s)
            if d is not None and d != o:
                edges[o].add(d)
                why.setdefault((o, d), []).append(s)
    comps = strongly_connected(objs, edges)
    bad = [c for c in comps if len(c) > 1]
    for c in bad:
        print("calls go round among: " + ", ".join(c))
        for a in c:
            for b in c:
                if b in edges[a]:
                    names = sorted(why[(a, b)])
                    print("  %s -> %s: %s" % (a, b, " ".join(names[:6])))
    if verbose and not bad:
        layer = {}
        for c in comps:  # dependencies first
            o = c[0]
            layer[o] = 1 + max((layer[d] for d in edges[o]), default=-1)
        for n in range(max(layer.values()) + 1):
            print("layer %d: %s" % (n, " ".join(
                sorted(o.rsplit("/", 1)[-1] for o in layer if layer[o] == n))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
