fn main() {
    std::process::exit(kplan::cli::run(std::env::args_os()));
}
