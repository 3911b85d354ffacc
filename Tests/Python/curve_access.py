"""CURVE access through a real `ngd serve` (run by PythonClientTests.curveAccess): the daemon
has a key from `ngd keygen`, clients have pyzmq certificates, each socket admits only the keys in
its own directory. SIGHUP admits a key added to a directory. Prints one JSON object of outcomes; the Swift test
compares it.

usage: python3 curve_access.py NGD_BINARY
"""
import zmq, zmq.auth, subprocess, re, sys, os, time, json, tempfile, struct
ngd = sys.argv[1]
d = tempfile.mkdtemp()
for sub in ['server', 'producers', 'subscribers', 'admins', 'other']: os.makedirs(f'{d}/{sub}')
subprocess.check_call([ngd, 'keygen', 'daemon', '--dir', f'{d}/server'], stdout=subprocess.DEVNULL)
keys = {}
for name, where in [('producer', 'producers'), ('subscriber', 'subscribers'), ('admin', 'admins'), ('stranger', 'other')]:
    pub, sec = zmq.auth.create_certificates(f'{d}/{where}', name)
    keys[name] = zmq.auth.load_certificate(sec)
server_pub, _ = zmq.auth.load_certificate(f'{d}/server/daemon.key')
p = subprocess.Popen([ngd, 'serve', '--layers', '2,1', '--input', 'tcp://127.0.0.1:*', '--output', 'tcp://127.0.0.1:*', '--control', 'tcp://127.0.0.1:*',
    '--state-dir', f'{d}/state', '--input-pattern', 'pull', '--log-level', 'notice',
    '--curve-server-key', f'{d}/server/daemon.key_secret', '--curve-producers', f'{d}/producers', '--curve-subscribers', f'{d}/subscribers', '--curve-admins', f'{d}/admins'],
    stderr=subprocess.PIPE, text=True)
line = ''
while 'serving' not in line:
    line = p.stderr.readline()
    if not line: print('no start'); sys.exit(1)
ep = {k: re.search(k + r'=(\S+)', line).group(1) for k in ['input', 'output', 'control']}
ctx = zmq.Context()
def sock(kind, ep_, who):
    s = ctx.socket(kind); s.setsockopt(zmq.LINGER, 0)
    if who:
        pub, sec = keys[who]; s.curve_secretkey = sec; s.curve_publickey = pub; s.curve_serverkey = server_pub
    s.connect(ep_); return s
def status(who):
    s = sock(zmq.REQ, ep['control'], who); s.setsockopt(zmq.RCVTIMEO, 1500)
    s.send(b'{"cmd":"status"}')
    try: r = json.loads(s.recv())
    except zmq.Again: r = None
    s.close(); return r
def seq():
    r = status('admin'); return r['models']['default']['seq']
def feed(who, n=20):
    s = sock(zmq.PUSH, ep['input'], who); s.setsockopt(zmq.SNDTIMEO, 500)
    sent = 0
    for i in range(n):
        try: s.send_multipart([b'default', json.dumps({"x": [i, 1], "y": [1]}).encode()]); sent += 1
        except zmq.Again: break
    time.sleep(0.7); s.close(); return sent
def reads(who):
    s = sock(zmq.SUB, ep['output'], who); s.setsockopt(zmq.SUBSCRIBE, b'')
    time.sleep(0.5); feed('producer', 5); ok = s.poll(1500) != 0; s.close(); return ok
res = {}
res['admin status'] = status('admin') is not None
res['plain status'] = status(None) is not None
res['producer status'] = status('producer') is not None
s0 = seq(); feed('stranger'); feed(None); feed('subscriber'); s1 = seq()
res['unlisted feed changes seq'] = s1 != s0
feed('producer'); s2 = seq()
res['producer feed changes seq'] = s2 != s1
res['subscriber reads'] = reads('subscriber')
res['stranger reads'] = reads('stranger')
res['producer reads'] = reads('producer')
res['auth_failures'] = status('admin')['auth_failures']
# SIGHUP re-reads the directories: a newly listed producer key is admitted without a restart.
import shutil, signal
newcomer_pub, newcomer_sec = zmq.auth.create_certificates(f'{d}/other', 'newcomer')
keys['newcomer'] = zmq.auth.load_certificate(newcomer_sec)
s3 = seq(); feed('newcomer'); res['newcomer feeds before SIGHUP'] = seq() != s3
shutil.copy(newcomer_pub, f'{d}/producers/')
p.send_signal(signal.SIGHUP)
# Wait for the reload (libzmq does not retry a refused handshake, so feeding early would fail).
import select
deadline, logged = time.time() + 20, ''
while 'reloaded CURVE keys' not in logged and time.time() < deadline:
    if select.select([p.stderr], [], [], 0.1)[0]:
        logged += p.stderr.readline()
res['reload logged'] = 'reloaded CURVE keys' in logged
s4 = seq(); feed('newcomer'); res['newcomer feeds after SIGHUP'] = seq() != s4
res['alive after SIGHUP'] = p.poll() is None
print(json.dumps(res))
p.terminate(); p.wait()
