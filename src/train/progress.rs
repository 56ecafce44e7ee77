//! Progress reporting: an indicatif bar in a terminal, one line per epoch elsewhere (notebooks,
//! logs), or nothing.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// How a long run shows progress.
#[derive(Debug)]
pub enum Progress {
    /// A bar on stderr (terminals).
    Bar(Option<ProgressBar>),
    /// One printed line per epoch (notebooks: evcxr does not render bars).
    Lines,
    /// Nothing (tests).
    Silent,
}

impl Progress {
    /// A bar when stderr is a terminal and we are not inside the notebook kernel, else lines.
    pub fn auto() -> Progress {
        if std::io::stderr().is_terminal() && std::env::var_os("LATENTLAB_KERNEL").is_none() {
            Progress::Bar(None)
        } else {
            Progress::Lines
        }
    }

    /// Starts a phase of `total` steps.
    pub fn start(&mut self, label: &str, total: u64) {
        if let Progress::Bar(bar) = self {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} {msg} (eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_prefix(label.to_string());
            *bar = Some(b);
        }
    }

    /// One step done; `msg` is shown beside the bar.
    pub fn step(&mut self, msg: impl FnOnce() -> String) {
        if let Progress::Bar(Some(b)) = self {
            b.inc(1);
            if b.position() % 20 == 0 {
                b.set_message(msg());
            }
        }
    }

    /// A line worth keeping (end of an epoch, a result).
    pub fn line(&mut self, text: &str) {
        match self {
            Progress::Bar(Some(b)) => b.println(text),
            Progress::Bar(None) | Progress::Lines => println!("{text}"),
            Progress::Silent => {}
        }
    }

    /// Ends the current phase.
    pub fn finish(&mut self) {
        if let Progress::Bar(bar) = self {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
        }
    }
}
