//! The command-line front end: `backrub ask | index | check | bot | ...` over the core.
//!
//! Output contracts other tools rely on: `ask` prints the reply exactly as the bot sends it;
//! `ask --json` prints one JSON object; `ask --json --stdin` prints exactly one JSON line per
//! input line. Diagnostics go to stderr, never into those outputs.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::answer::{Answer, Quote};
use crate::config::Config;
use crate::engine::{self, Engine};
use crate::triage::{Flag, Urgency};

/// backrub: back-pain and massage answers with red-flag triage.
#[derive(Debug, Parser)]
#[command(name = "backrub", version, about)]
pub struct Cli {
    /// Config file (paths inside it are relative to its folder).
    #[arg(
        long,
        global = true,
        default_value = "config.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Answer a question as the bot would.
    Ask {
        /// Print a JSON object instead of the reply text.
        #[arg(long)]
        json: bool,
        /// Read one question per line from standard input (opens the index once).
        #[arg(long)]
        stdin: bool,
        /// The question (omit with --stdin).
        #[arg(required_unless_present = "stdin", conflicts_with = "stdin")]
        question: Option<String>,
    },
    /// Rebuild the index from the knowledge folder and report what changed.
    Index,
    /// Validate the knowledge folder, red-flag rules and synonyms; non-zero exit on errors.
    Check,
    /// Measure retrieval on a JSONL question set (hit@1, hit@3, MRR, declines, misses).
    Eval {
        /// Lines of `{"question": "...", "expect": ["Heading", ...]}`.
        file: PathBuf,
        /// Measure plain BM25 over sections instead, for comparison.
        #[arg(long)]
        baseline: bool,
        /// Show each miss's concepts and the scores of its top candidates.
        #[arg(long)]
        explain: bool,
    },
    /// Train the decline model on labelled question sets and write it to the knowledge folder.
    TrainDecline {
        /// JSONL files of `{"question": "...", "expect": [...]}` (empty `expect`: off-topic).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write it (default: `decline-model.json` in the knowledge folder).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// List the questions the bot could not answer well, and the worst-rated passages.
    Gaps {
        /// How many of each to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write a synthetic knowledge folder of N articles (for scale benchmarks).
    GenCorpus {
        /// Number of articles.
        articles: usize,
        /// Output folder.
        dir: PathBuf,
        /// Random seed (same seed, same corpus).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Run the Discord bot (token from the DISCORD_TOKEN environment variable).
    #[cfg(feature = "discord")]
    Bot,
}

/// `ask --json` output.
#[derive(Debug, Serialize)]
pub struct AskJson<'a> {
    /// The question.
    pub question: &'a str,
    /// Whether passages answered it.
    pub answered: bool,
    /// Urgency and flags.
    pub triage: TriageJson<'a>,
    /// Quoted passages.
    pub passages: &'a [Quote],
    /// The full reply text, in display order.
    pub reply: String,
}

/// The `triage` member of [`AskJson`].
#[derive(Debug, Serialize)]
pub struct TriageJson<'a> {
    /// Most urgent flag's urgency.
    pub urgency: Urgency,
    /// Every flag.
    pub flags: &'a [Flag],
}

impl<'a> AskJson<'a> {
    /// The JSON view of `answer`.
    pub fn new(answer: &'a Answer) -> AskJson<'a> {
        AskJson {
            question: &answer.question,
            answered: answer.answered,
            triage: TriageJson {
                urgency: answer.triage.urgency,
                flags: &answer.triage.flags,
            },
            passages: &answer.passages,
            reply: answer.to_text(),
        }
    }
}

/// Parses arguments, runs, and maps the outcome to an exit code (errors print `{:#}`).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.command);
    match run(cli) {
        Ok(code) => code,
        // `backrub eval ... | head`: the reader has all it wants; that is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("backrub: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes to standard output, returning an error (instead of panicking as `print!` does)
/// when the reader has gone away.
macro_rules! out {
    ($($arg:tt)*) => {{
        let mut stdout = std::io::stdout().lock();
        write!(stdout, $($arg)*).and_then(|()| stdout.flush())
    }};
}

fn init_tracing(command: &Command) {
    #[cfg(feature = "discord")]
    let default = if matches!(command, Command::Bot) {
        "info"
    } else {
        "warn"
    };
    #[cfg(not(feature = "discord"))]
    let default = {
        let _ = command;
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BACKRUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    Config::load(&cli.config).with_context(|| format!("loading config {}", cli.config.display()))
}

fn open_engine(config: Config) -> anyhow::Result<Engine> {
    let engine = Engine::open(config)?;
    for problem in engine.problems() {
        eprintln!("{problem}");
    }
    Ok(engine)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::GenCorpus {
        articles,
        dir,
        seed,
    } = &cli.command
    {
        let bytes = crate::corpus::generate(dir, *articles, *seed)
            .with_context(|| format!("writing {}", dir.display()))?;
        out!(
            "wrote {articles} article(s), {bytes} bytes, to {}\n",
            dir.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = load_config(&cli)?;
    match cli.command {
        Command::Ask {
            json,
            stdin,
            question,
        } => {
            let engine = open_engine(config)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if stdin {
                for line in std::io::stdin().lock().lines() {
                    let line = line.context("reading standard input")?;
                    write_answer(&mut out, &engine.ask(&line), json)?;
                    out.flush()?;
                }
            } else {
                write_answer(
                    &mut out,
                    &engine.ask(question.as_deref().unwrap_or_default()),
                    json,
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Index => match engine::rebuild(&config) {
            Ok(report) => {
                out!("{report}\n")?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Check => {
            let problems = crate::check::check(&config);
            let errors = problems.iter().filter(|p| p.is_error()).count();
            for p in &problems {
                out!("{p}\n")?;
            }
            eprintln!("{errors} error(s), {} warning(s)", problems.len() - errors);
            Ok(if errors > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Eval {
            file,
            baseline,
            explain,
        } => {
            let Some(cases) = read_cases(&file) else {
                return Ok(ExitCode::FAILURE);
            };
            let engine = open_engine(config)?;
            let mode = if baseline {
                crate::eval::Mode::Baseline
            } else {
                crate::eval::Mode::Backrub
            };
            let mut report = crate::eval::evaluate(&engine, &cases, mode);
            report.explain = explain;
            out!("{report}")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::TrainDecline { files, out } => {
            let mut sets = Vec::new();
            for file in &files {
                let Some(cases) = read_cases(file) else {
                    return Ok(ExitCode::FAILURE);
                };
                sets.push((file.display().to_string(), cases));
            }
            let out = out.unwrap_or_else(|| config.decline_model_file());
            let engine = open_engine(config)?;
            let model =
                crate::decline::train_on(&engine, &sets).context("reading the knowledge folder")?;
            std::fs::write(&out, model.to_json())
                .with_context(|| format!("writing {}", out.display()))?;
            out!(
                "trained on {} question(s) from {} file(s): {} feature weight(s); wrote {}\n",
                model.questions,
                sets.len(),
                model.len(),
                out.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Gaps { limit } => {
            let log = crate::gaps::GapLog::open(&config.gaps.db_path, config.gaps.log_questions)?;
            out!("{}", crate::gaps::report(&log, limit)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::GenCorpus { .. } => unreachable!("handled before loading the config"),
        #[cfg(feature = "discord")]
        Command::Bot => run_bot(config),
    }
}

/// The labelled questions of `file`, or None after printing what is wrong with it.
fn read_cases(file: &std::path::Path) -> Option<Vec<crate::eval::Case>> {
    crate::eval::load_cases(file)
        .map_err(|problems| {
            for p in problems {
                eprintln!("{p}");
            }
        })
        .ok()
}

fn write_answer(out: &mut impl Write, answer: &Answer, json: bool) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &AskJson::new(answer))?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", answer.to_text())?;
    }
    Ok(())
}

#[cfg(feature = "discord")]
fn run_bot(config: Config) -> anyhow::Result<ExitCode> {
    // The token is read here and only here, and is never logged.
    let token = std::env::var("DISCORD_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .context("DISCORD_TOKEN is not set: the bot token comes from the environment only")?;
    log_panics_privately(config.discord.log_message_text);
    let engine = std::sync::Arc::new(open_engine(config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(crate::discord::run(engine, token, shutdown_signal()))?;
    Ok(ExitCode::SUCCESS)
}

/// Replaces Rust's default panic output (the panic message on stderr) with a log line that
/// gives the location only: a panic's message can quote the text being processed, which is
/// someone's health question. With `log_message_text` the message is logged too. The
/// adapter still catches the panic and apologises to the user.
#[cfg(feature = "discord")]
fn log_panics_privately(log_message_text: bool) {
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if log_message_text {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%location, %message, "panic");
        } else {
            tracing::error!(%location, "panic (message withheld: it may quote a question)");
        }
    }));
}

/// Resolves on Ctrl-C or SIGTERM.
#[cfg(feature = "discord")]
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown signal received");
}
