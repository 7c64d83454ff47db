"""strata-load over TLS: Debian's nginx terminates TLS (self-signed
certificate made by the test) in front of strata-origin. Plain and verified
(--cacert) runs succeed with every request reaching the origin; verifying
against the system CAs fails and is counted as TLS errors."""
import json
import os
import shutil
import subprocess

import pytest

import harness

NGINX = "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason="%s is missing" % NGINX)

CONF = """
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(d)s/tmp; proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp; uwsgi_temp_path %(d)s/tmp; scgi_temp_path %(d)s/tmp;
    upstream origin { server 127.0.0.1:%(origin)d; keepalive 16; }
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(d)s/cert.pem;
        ssl_certificate_key %(d)s/key.pem;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_max_temp_file_size 0;  # workers (nobody) cannot write here
        }
    }
}
"""


@pytest.fixture
def tls_front(origin, tmp_path):
    d = str(tmp_path)
    os.mkdir(os.path.join(d, "tmp"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", os.path.join(d, "key.pem"), "-out", os.path.join(d, "cert.pem")],
                   check=True, capture_output=True, timeout=30)
    port = harness.free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(CONF % {"d": d, "port": port, "origin": origin.port})
    p = harness.Proc([NGINX, "-p", d, "-c", conf, "-g",
                      "daemon off; pid %s/nginx.pid; error_log stderr;" % d], port=port)
    yield port, d
    p.stop()


def run(tmp_path, *args, rc=0):
    out = tmp_path / "tls.json"
    argv = [harness.binary("tools/strata-load"), "--json", str(out)] + [str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert "Sanitizer" not in p.stderr and "runtime error:" not in p.stderr, p.stderr
    assert p.returncode == rc, p.stdout + p.stderr
    return json.loads(out.read_text())


def test_tls_through_nginx(origin, tls_front, tmp_path):
    port, _ = tls_front
    d = run(tmp_path, "--url", "https://127.0.0.1:%d" % port, "--objects", 100,
            "--sizes", "lognormal:median=4KiB,sigma=1,max=40KiB", "-n", 800, "-c", 4, "-t", 2,
            "--origin-stats", "http://127.0.0.1:%d/__stats" % origin.port)
    assert d["requests"] == 800 and d["errors"] == 0
    assert d["origin_requests"] == 800 and d["origin_bytes"] == d["bytes"]
    assert d["offload_requests"] == 0


def test_tls_verification(origin, tls_front, tmp_path):
    port, cert_dir = tls_front
    d = run(tmp_path, "--url", "https://localhost:%d/v?size=10" % port, "-n", 20, "-c", 2,
            "--cacert", os.path.join(cert_dir, "cert.pem"))
    assert d["errors"] == 0
    d = run(tmp_path, "--url", "https://localhost:%d/v?size=10" % port, "-n", 6, "-c", 2,
            "--verify", rc=1)
    assert d["errors_by_kind"]["tls"] == 6
