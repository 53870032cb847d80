//! How commands print for people: color decisions and diagnostics on stderr.

use std::io::IsTerminal;

use super::ColorChoice;
use crate::spec::Diagnostics;

/// The width diagnostics are wrapped at; fixed so output does not depend on the terminal.
pub const WIDTH: usize = 100;

/// Whether to color what goes to stderr.
pub fn color_stderr(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            !no_color && std::io::stderr().is_terminal()
        }
    }
}

/// Prints diagnostics to stderr, then a one-line count.
pub fn print_diagnostics(diagnostics: &Diagnostics, color: bool) {
    if diagnostics.is_empty() {
        return;
    }
    eprint!("{}", diagnostics.render(color, WIDTH));
    let (errors, warnings) = diagnostics.counts();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => eprintln!("\n{}", plural(w, "warning")),
        (e, 0) => eprintln!("\n{}", plural(e, "error")),
        (e, w) => eprintln!("\n{} and {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// Loads the spec files, printing every problem; `None` means the command must exit 1.
pub fn load_or_report(files: &[std::path::PathBuf], color: bool) -> Option<crate::spec::Loaded> {
    load_or_report_as_of(files, color, crate::spec::values::Date::today(), |_| false)
}

/// Loads the spec files with waivers dated against `today`, printing every problem except
/// the warnings `skip` says the command reports in its own words.
pub fn load_or_report_as_of(
    files: &[std::path::PathBuf],
    color: bool,
    today: crate::spec::values::Date,
    skip: impl Fn(&crate::spec::Diagnostic) -> bool,
) -> Option<crate::spec::Loaded> {
    let env = |name: &str| std::env::var(name).ok();
    let options = crate::spec::LoadOptions { env: &env, today };
    match crate::spec::load_with(files, &options) {
        Ok(loaded) => {
            let shown: Diagnostics = loaded
                .warnings
                .iter()
                .filter(|d| !skip(d))
                .cloned()
                .collect();
            print_diagnostics(&shown, color);
            Some(loaded)
        }
        Err(problems) => {
            print_diagnostics(&problems, color);
            None
        }
    }
}
