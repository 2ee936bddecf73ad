//! What the three example programs' `main` functions share: read the options, run, print
//! the report or the error.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

use crate::error::Error;
use crate::options::Options;

/// Runs `program`: logs warnings (a handler that fails, say) to stderr, parses the command
/// line, calls `run` and prints what it returns.
pub async fn main<R, Fut>(program: &str, run: impl FnOnce(Options) -> Fut) -> ExitCode
where
    R: Display,
    Fut: Future<Output = Result<R, Error>>,
{
    // A second subscriber (in tests, say) is no reason to stop.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let args = std::env::args_os().skip(1);
    let mongo_uri = std::env::var("EVENTFUL_MONGO_URI").ok();
    let options = match Options::parse_from(program, args, mongo_uri) {
        Ok(options) => options,
        Err(error) => {
            // clap's own way: the help on stdout with status 0, a mistake on stderr with 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match run(options).await {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{program}: {error}");
            ExitCode::FAILURE
        }
    }
}
