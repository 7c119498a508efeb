// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running external commands with their command line echoed and failures turned into errors.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The error type of every xtask step: a message for the person at the terminal.
pub type Error = Box<dyn std::error::Error>;
/// Result of an xtask step.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// Echoes and runs `command`, failing if it does not exit with 0.
pub fn run(command: &mut Command) -> Result {
    eprintln!("xtask: $ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot start {}: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed with {status}", describe(command)).into())
    }
}

/// [`run`] with a deadline: a command still running after `limit` (a test that deadlocks
/// spins for ever: the monitor's locks are spinlocks, in the host fake too) is killed with
/// every process it started and fails. The command stays in the terminal's process group, so
/// Ctrl-C still reaches it.
pub fn run_within(command: &mut Command, limit: Duration) -> Result {
    eprintln!(
        "xtask: $ {} (deadline {} s)",
        describe(command),
        limit.as_secs()
    );
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", describe(command)))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            // Cargo and the test binaries it runs.
            kill_tree(child.id());
            let _ = child.wait();
            return Err(format!(
                "`{}` did not finish within {} s (a hung test?): killed",
                describe(command),
                limit.as_secs()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed with {status}", describe(command)).into())
    }
}

/// Kills process `root` and every process descended from it (found through `/proc`).
fn kill_tree(root: u32) {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid ...`; the command name may hold spaces and parentheses.
        let after = stat.get(stat.rfind(')')? + 1..)?;
        after.split_whitespace().nth(1)?.parse().ok()
    };
    // Every process's parent, read once.
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .filter_map(|pid| Some((pid, parent_of(pid)?)))
                .collect()
        })
        .unwrap_or_default();
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&pid) = tree.get(i) {
        tree.extend(
            parents
                .iter()
                .filter(|&&(_, parent)| parent == pid)
                .map(|&(child, _)| child),
        );
        i += 1;
    }
    // Parents first, so none of them starts another child meanwhile.
    for pid in tree {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            continue;
        };
        // SAFETY: kill(2) takes no memory from us; a process that exited since the scan
        // makes it fail with ESRCH, which is ignored.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Runs `command` quietly and returns its stdout, or `None` if it cannot run or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// True if `program` is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// A `cargo` command using the same cargo that runs xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `program` run in `dir`.
pub fn in_dir(program: &str, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir);
    command
}

/// The command line of `command`, as echoed.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_within_its_deadline_passes_and_a_failing_one_fails() {
        assert!(run_within(&mut Command::new("true"), Duration::from_secs(10)).is_ok());
        assert!(run_within(&mut Command::new("false"), Duration::from_secs(10)).is_err());
    }

    #[test]
    fn a_command_past_its_deadline_is_killed_with_its_children() {
        let marker = std::env::temp_dir().join(format!("xtask-deadline-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        // A child of the command outlives the shell's wait only if the group is not killed.
        let script = format!("(sleep 3; touch {}) & wait", marker.display());
        let started = Instant::now();
        let result = run_within(
            Command::new("sh").args(["-c", &script]),
            Duration::from_millis(500),
        );
        assert!(result.is_err(), "past its deadline");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "killed at the deadline"
        );
        std::thread::sleep(Duration::from_secs(4));
        assert!(!marker.exists(), "the command's child was killed too");
    }
}
