//! Parses the arguments and hands over to the CLI or the console. Every error sentence is
//! made safe for the terminal here, the one place the CLI writes one.

use clap::Parser;

use pkgdeck::cli::{self, Args, Failure};
use pkgdeck::config::Dirs;
use pkgdeck::connect::Request;
use pkgdeck::untrusted::printable;

fn main() {
    let args = Args::parse();
    let code = match run(args) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("pkgdeck: {}", printable(&f.message));
            f.code
        }
    };
    std::process::exit(code);
}

fn run(args: Args) -> Result<i32, Failure> {
    let dirs = Dirs::discover().map_err(|e| Failure::new(3, e.to_string()))?;
    let request = Request {
        db: args.db,
        connection: args.connection,
        read_only: args.read_only,
    };
    match args.command {
        Some(command) => {
            pkgdeck::interrupt::install()
                .map_err(|e| Failure::new(3, format!("cannot watch for Ctrl-C: {e}")))?;
            cli::run(command, &request, &dirs)
        }
        None => {
            pkgdeck::tui::run(request, dirs, args.demo).map_err(|e| Failure::new(3, e.to_string()))
        }
    }
}
