//! The throwaway servers start, accept connections, and keep data over a restart.

use std::io::{Read, Write};
use std::net::TcpStream;

#[test]
fn postgres_starts_and_restarts() {
    let pg = chatplug_testkit::TempPostgres::start().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_ok());
    pg.stop().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_err());
    pg.restart().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_ok(), "{}", pg.log());
}

fn redis_command(port: u16, command: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(command.as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn redis_keeps_data_over_a_restart() {
    let mut redis = chatplug_testkit::TempRedis::start().unwrap();
    assert_eq!(redis_command(redis.port(), "SET k v\r\n"), "+OK\r\n");
    redis.restart().unwrap();
    // The append-only file is replayed on start; give the loader a moment if needed.
    let mut reply = String::new();
    for _ in 0..50 {
        reply = redis_command(redis.port(), "GET k\r\n");
        if !reply.starts_with("-LOADING") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(reply, "$1\r\nv\r\n");
}
