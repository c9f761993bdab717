"""Helpers for the net tests: start `veil node` processes and stop them (by their own pid)."""
import re
import signal
import subprocess
import time


class NodeProcess:
    def __init__(self, veil, model, segments):
        self.proc = subprocess.Popen(
            [veil, "node", "--model", model, "--segments", segments, "--insecure",
             "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (\S+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("node did not start: %r %s" % (line, self.proc.stderr.read()))
        self.address = m.group(1)

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` (SIGTERM or SIGINT); returns (exit code, stderr log)."""
        self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s %s" % (cmd, r.returncode, r.stdout, r.stderr))
    return r.stdout
