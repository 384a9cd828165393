#!/usr/bin/env python3
"""Live update under load: keep requesting a tenant while its program is
replaced by each of PROGRAMS in turn (with tenant-sdk/build_and_upload.sh),
then check every answer.

usage: upload_load.py PORT HOST OTHER_HOST TOOL PROGRAM...

PORT is nginx on 127.0.0.1; HOST runs test/guest/programs/version.c and
PROGRAM i (1-based) is that program built with -DVERSION=i; OTHER_HOST is a
tenant that must not notice.  The key comes from KVM_FPM_KEY.  Exit 0 when:
every answer is 200; every body of HOST is the whole body of one version;
each client sees versions in order; every request that started after the
last upload returned is answered by the last version.
"""
import http.client
import os
import subprocess
import sys
import threading
import time

port, host, other, tool = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
programs = sys.argv[5:]


def body_of(v):
    """The body version.c answers, built the same way."""
    lines = ["version %d\n" % v]
    lines += ["%d:%03d %s\n" % (v, i, "." * 40) for i in range(100)]
    return "".join(lines).encode()


bodies = {body_of(v): v for v in range(len(programs) + 1)}
stop = threading.Event()
results = {}  # thread name -> [(start, status, version or None)]
failures = []


def client(name, h):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    got = results.setdefault(name, [])
    while not stop.is_set():
        start = time.monotonic()
        try:
            conn.request("GET", "/", headers={"Host": h})
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            got.append((start, "error %s" % e, None))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", int(port),
                                              timeout=10)
            continue
        got.append((start, r.status, bodies.get(data) if h == host else 0))


def upload_all():
    env = dict(os.environ, KVM_FPM_URL="http://127.0.0.1:%s/" % port)
    for i, prog in enumerate(programs, 1):
        p = subprocess.run([tool, host, prog], env=env, capture_output=True,
                           text=True)
        if p.returncode != 0 or ("version %d" % i) not in p.stdout:
            failures.append("upload %d: exit %d: %s%s" %
                            (i, p.returncode, p.stdout, p.stderr))
    return time.monotonic()


threads = [threading.Thread(target=client, args=("c%d" % i, host))
           for i in range(3)]
threads.append(threading.Thread(target=client, args=("other", other)))
for t in threads:
    t.start()
time.sleep(0.3)
t0 = time.monotonic()
last_done = upload_all()
upload_s = last_done - t0
time.sleep(1.0)
stop.set()
for t in threads:
    t.join()

last = len(programs)
total = after = 0
seen = set()
for name, got in results.items():
    prev = 0
    for start, status, version in got:
        total += 1
        if status != 200:
            failures.append("%s: status %s" % (name, status))
            continue
        if name == "other":
            continue
        if version is None:
            failures.append("%s: a body of no single version" % name)
            continue
        seen.add(version)
        if version < prev:
            failures.append("%s: version %d after %d" % (name, version, prev))
        prev = version
        if start > last_done:
            after += 1
            if version != last:
                failures.append("%s: version %d after the last upload"
                                % (name, version))

print("%d uploads in %.2f s; %d requests (%d after the last upload), "
      "versions seen: %s" % (len(programs), upload_s, total, after,
                             sorted(seen)))
if after == 0:
    failures.append("no request after the last upload")
for f in failures[:20]:
    print("failure:", f)
sys.exit(1 if failures else 0)
