//! Parses the arguments, opens the target, and hands over to the CLI or the console.

use clap::Parser;

use pkgdeck::cli::{self, Args, Failure};
use pkgdeck::config::Dirs;
use pkgdeck::connect::{self, Request};

fn main() {
    let args = Args::parse();
    let code = match run(args) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("pkgdeck: {}", f.message);
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
            let registry = connect::open(&request, &dirs)?;
            cli::run(&registry, command)
        }
        None => {
            pkgdeck::tui::run(request, dirs, args.demo).map_err(|e| Failure::new(3, e.to_string()))
        }
    }
}
