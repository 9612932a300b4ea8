//! Helpers shared by the integration tests: a private copy of the bundled knowledge and
//! config in a temp folder, an engine over it, and the real `backrub` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use backrub::{Config, Engine};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temp folder holding `config.toml` and a copy of `knowledge/`; the index is built there.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let knowledge = dir.path().join("knowledge");
        std::fs::create_dir_all(&knowledge).unwrap();
        for entry in std::fs::read_dir(root().join("knowledge")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, knowledge.join(path.file_name().unwrap())).unwrap();
            }
        }
        std::fs::copy(root().join("config.toml"), dir.path().join("config.toml")).unwrap();
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    pub fn knowledge(&self, name: &str) -> PathBuf {
        self.path().join("knowledge").join(name)
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path()).expect("bundled config loads")
    }

    pub fn engine(&self) -> Engine {
        Engine::open(self.config()).expect("engine opens on the bundled knowledge")
    }

    /// The `backrub` binary with `--config` pointing here.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_backrub"));
        cmd.arg("--config").arg(self.config_path()).args(args);
        cmd.env_remove("DISCORD_TOKEN").env_remove("BACKRUB_LOG");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("backrub runs")
    }

    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

/// Reads a JSONL file of the repository.
pub fn jsonl(relative: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(root().join(relative))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
