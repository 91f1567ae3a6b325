//! Parses the arguments and hands over to the CLI or the console. Every error sentence is
//! made safe for the terminal here, the one place the CLI writes one.

use clap::Parser;

use pkgdeck::cli::{self, Args, Failure};
use pkgdeck::config::Dirs;
use pkgdeck::connect::Request;
use pkgdeck::untrusted::printable;

fn main() {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => std::process::exit(usage_error(e)),
    };
    let code = match run(args) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("pkgdeck: {}", printable(&f.message));
            f.code
        }
    };
    std::process::exit(code);
}

/// Help and version go to stdout as clap writes them; a usage error is one sentence on
/// stderr (clap's first line, made safe: it may quote an argument) and exit 2.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return e.exit_code();
    }
    // clap's first paragraph is the error ("… not provided:" continues on the next lines).
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = paragraph.join(" ");
    let sentence = joined.strip_prefix("error: ").unwrap_or(&joined);
    eprintln!(
        "pkgdeck: {}; see pkgdeck --help",
        printable(sentence.trim_end_matches([' ', ':']))
    );
    2
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
