//! A process's peak memory, measured by the kernel. The test binary is large and busy, and a
//! child it spawns starts from the parent's memory until it execs, which Linux counts toward
//! the child's peak; so pkgdeck is started by a small Python process instead, which reports its
//! child's `ru_maxrss` (RUSAGE_CHILDREN) along with its exit code and output.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Output};

use base64::Engine;

/// Spawns the command (program, arguments and environment changes as given), feeds it
/// `stdin_len` spaces on stdin when set (stopping quietly when it stops reading), waits, and
/// reports its exit status, peak resident memory in bytes, stdout and stderr.
const MEASURE: &str = r#"
import base64, json, os, resource, subprocess, sys, threading
spec = json.loads(sys.argv[1])
env = dict(os.environ)
for name, value in spec["env"]:
    if value is None:
        env.pop(name, None)
    else:
        env[name] = value
feed = spec["stdin"]
child = subprocess.Popen([spec["program"]] + spec["args"], env=env,
                         stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
def pump():
    chunk = b" " * (1 << 20)
    left = feed
    try:
        while left > 0:
            n = min(left, len(chunk))
            child.stdin.write(chunk[:n])
            left -= n
        child.stdin.close()
    except (BrokenPipeError, OSError):
        pass
outs = {}
def drain(name, stream):
    outs[name] = stream.read()
threads = [threading.Thread(target=drain, args=("out", child.stdout)),
           threading.Thread(target=drain, args=("err", child.stderr))]
if feed is not None:
    threads.append(threading.Thread(target=pump))
for t in threads:
    t.start()
code = child.wait()
for t in threads:
    t.join()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps([code, peak, base64.b64encode(outs["out"]).decode(),
                  base64.b64encode(outs["err"]).decode()]))
"#;

/// What [`run`] measured.
pub struct Measured {
    pub output: Output,
    /// Peak resident memory of pkgdeck itself, in bytes.
    pub peak: u64,
}

/// Runs `command` to its end from a small Python parent (see the module) and answers its
/// output and its peak memory. `stdin_len` spaces are fed on stdin when set.
pub fn run(command: &Command, stdin_len: Option<u64>) -> Measured {
    let env: Vec<serde_json::Value> = command
        .get_envs()
        .map(|(k, v)| {
            serde_json::json!([
                k.to_string_lossy(),
                v.map(|v| v.to_string_lossy().into_owned())
            ])
        })
        .collect();
    let spec = serde_json::json!({
        "program": command.get_program().to_string_lossy(),
        "args": command.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
        "env": env,
        "stdin": stdin_len,
    });
    let o = Command::new("python3")
        .args(["-c", MEASURE, &spec.to_string()])
        .output()
        .expect("run python3 (the memory probe needs it)");
    let answer = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(answer.trim()).unwrap_or_else(|e| {
        panic!(
            "the memory probe answered {answer:?} ({e}): {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let bytes = |i: usize| {
        base64::engine::general_purpose::STANDARD
            .decode(v[i].as_str().unwrap_or_default())
            .expect("base64 from the probe")
    };
    let code = v[0].as_i64().expect("an exit code");
    // A negative code is Python's way of saying "killed by that signal".
    let raw = if code < 0 {
        (-code) as i32
    } else {
        (code as i32) << 8
    };
    Measured {
        output: Output {
            status: ExitStatus::from_raw(raw),
            stdout: bytes(2),
            stderr: bytes(3),
        },
        peak: v[1].as_u64().expect("a peak"),
    }
}
