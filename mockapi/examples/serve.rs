//! Serves a mock by hand: `cargo run -p mockapi --example serve -- DIR`
//! prints the environment a connector needs (as `export` lines), then serves
//! until killed, printing each request.

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: serve <mock dir holding mock.json>"))?;
    let mock = mockapi::MockApi::start(std::path::Path::new(&dir))?;
    for scenario in std::env::args().skip(2) {
        mock.activate(&scenario)?;
    }
    for (k, v) in mock.env() {
        println!("export {k}='{v}'");
    }
    eprintln!("serving {} on {}", dir, mock.addr());
    let mut seen = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let log = mock.requests();
        for r in &log[seen..] {
            eprintln!(
                "{} {} {} {:?} -> {}",
                r.method, r.host, r.path, r.query, r.status
            );
        }
        seen = log.len();
    }
}
