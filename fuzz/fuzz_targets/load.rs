//! Fuzz target for the spec loader: any bytes, as a base file and an overlay, must load or
//! produce diagnostics, never panic, hang or exhaust memory.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stackwright::spec::{LoadOptions, load_bytes, values::Date};

fn env(name: &str) -> Option<String> {
    (name.len() % 2 == 0).then(|| format!("v{name}"))
}

fuzz_target!(|data: &[u8]| {
    let today = Date::new(2026, 12, 3).expect("a real day");
    let options = LoadOptions { env: &env, today };
    // The first NUL byte, if any, splits the input into a base file and an overlay.
    let files: Vec<(&str, &[u8])> = match data.iter().position(|b| *b == 0) {
        Some(at) => vec![("base.yaml", &data[..at]), ("overlay.yaml", &data[at + 1..])],
        None => vec![("stack.yaml", data)],
    };
    if let Err(problems) = load_bytes(&files, &options) {
        // Rendering is part of the path a user sees; it must not panic either.
        let _ = problems.render(false, 100);
    }
});
