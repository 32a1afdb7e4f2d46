//! The `adarchive` command line: arguments, one function per command,
//! what they print, and progress.

mod args;
mod commands;
mod print;
mod progress;

use std::path::Path;
use std::process::ExitCode;

use adarchive::archive::Archive;
use anyhow::Context;
use clap::Parser;

use args::{Cli, Command};

/// Parses the command line, runs the command, and gives its exit status:
/// 0 when it did all it was asked, 1 when it did not (a file not
/// recognized, a mismatch found), 2 on an error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        quiet_on_closed_output();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Import(args) => commands::import(&cli.data, args),
        Command::Verify(args) => commands::verify(&cli.data, args),
        Command::Reindex(args) => commands::reindex(&cli.data, args),
        Command::Rebuild(args) => commands::rebuild(&cli.data, args),
        Command::Search(args) => commands::search(&cli.data, args),
        Command::Changes(args) => commands::changes(&cli.data, args),
        Command::Stats(args) => commands::stats(&cli.data, args),
        Command::Compact => commands::compact(&cli.data),
        Command::Spend(args) => commands::spend(&cli.data, args),
        Command::Export(args) => commands::export(&cli.data, args),
        Command::Advertisers(args) => commands::advertisers(&cli.data, args),
        Command::Serve(args) => commands::serve(&cli.data, args),
        Command::Demo(args) => commands::demo(args),
        Command::GenerateSamples(args) => commands::generate_samples(args),
        Command::Keys(command) => commands::keys(&cli.data, command),
        Command::Log(command) => commands::log(&cli.data, command),
        Command::Collect(args) => commands::collect(&cli.data, args),
    }
}

/// A command whose output is closed early (`adarchive spend … | head`)
/// ends quietly, as other command-line tools do, instead of panicking on
/// the next print. Not for the server, whose sockets must never raise it.
fn quiet_on_closed_output() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE, before any
    // thread is started, touches no memory of this program.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Request logs on stderr; `RUST_LOG` overrides the level.
pub(crate) fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// 0 when the command did all it was asked, 1 otherwise.
pub(crate) fn status(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Opens the archive for a command that only a process holding it may
/// run: one beside a running server says so, and where to turn instead.
/// Opens the archive for a command that reads it (search, spend,
/// advertisers, export): with the small page cache of a server, since
/// these read few records or stream through all of them once.
pub(crate) fn open(data: &Path) -> anyhow::Result<Archive> {
    match Archive::open_for_serving(data) {
        Err(adarchive::Error::Busy(_))
            if adarchive::tasks::handover::Handover::connect(data).is_some() =>
        {
            anyhow::bail!(
                "the archive at {} is served by a running `adarchive serve`, which holds it open: only `import` and `reindex` are handed to it; ask its API for searches, spend and advertisers, and stop it for `verify` or `rebuild` (which read or rewrite the whole database)",
                data.display()
            )
        }
        opened => opened.with_context(|| format!("opening the archive at {}", data.display())),
    }
}
