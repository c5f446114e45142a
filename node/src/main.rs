//! meshnode: node-core driven by UDP sockets and the real clock (issue 5, in progress).

fn main() {
    eprintln!("meshnode: not built yet");
    std::process::exit(2);
}
