//! Progress on a terminal.

use std::io::IsTerminal;

use adarchive::archive::{NoProgress, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over the bytes of the current file, on a terminal only.
pub(crate) struct Bar(Option<ProgressBar>);

impl Bar {
    pub(crate) fn new() -> Self {
        Bar(std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        }))
    }

    pub(crate) fn as_progress(&self) -> &dyn Progress {
        match &self.0 {
            Some(_) => self,
            None => &NoProgress,
        }
    }
}

impl Progress for Bar {
    fn start(&self, name: &str, len: u64) {
        if let Some(bar) = &self.0 {
            bar.reset();
            bar.set_length(len);
            bar.set_message(name.to_owned());
        }
    }

    fn advance(&self, offset: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(offset);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A collection's progress: on a terminal a spinner with the answers and
/// ads so far, lines above it for each answer and retry; elsewhere the
/// lines alone, on stderr.
pub(crate) struct Collecting(Option<ProgressBar>);

impl Collecting {
    pub(crate) fn new(collector: &str) -> Self {
        Collecting(std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(collector.to_owned());
            bar.set_message("asking");
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        }))
    }

    /// Tells a line: above the spinner, or on stderr.
    pub(crate) fn line(&self, text: &str) {
        match &self.0 {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// The totals so far, on the spinner.
    pub(crate) fn totals(&self, answers: u64, new: u64, updated: u64) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!(
                "{answers} answers, {new} new ads, {updated} updated"
            ));
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
