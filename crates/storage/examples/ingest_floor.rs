//! The machine's own floor for taking produce traffic: what the least possible broker does per
//! GB, to set the broker's measured CPU per GB produced against (DESIGN.md section 5).
//!
//! A sender thread writes `--gigabytes` of 1 MB chunks to a loopback TCP socket; the receiver
//! thread does only what any Kafka broker must do with a produce request's records: read them
//! from the socket into a reused buffer, check their CRC-32C, and write them at the end of a
//! file with `pwrite` (the page cache, no fsync), in the directory given (put it on the file
//! system of the broker's `log.dirs`). No protocol, no allocation, no threads handing work over.
//! It prints the receiver thread's CPU time per GB (from `/proc/thread-self/schedstat`) and, for
//! comparison, the time spent in each of the three steps.
//!
//! ```text
//! cargo run --release -p weir-storage --example ingest_floor -- [DIR] [GIGABYTES]
//! ```

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CHUNK: usize = 1_000_000;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".to_string()));
    let gigabytes: f64 = match args.next() {
        Some(g) => g
            .parse()
            .map_err(|e| std::io::Error::other(format!("GIGABYTES: {e}")))?,
        None => 2.0,
    };
    let chunks = (gigabytes * 1e9 / CHUNK as f64).ceil() as usize;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        let mut stream = TcpStream::connect(addr)?;
        let chunk: Vec<u8> = (0..CHUNK).map(|i| (i * 7 + i / 251) as u8).collect();
        for _ in 0..chunks {
            stream.write_all(&chunk)?;
        }
        Ok(())
    });
    let (mut stream, _) = listener.accept()?;

    let path = dir.join("ingest-floor.tmp");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    let result = receive(&mut stream, &file, chunks);
    std::fs::remove_file(&path)?;
    let (cpu, steps) = result?;
    sender
        .join()
        .map_err(|_| std::io::Error::other("sender panicked"))??;

    let gb = (chunks * CHUNK) as f64 / 1e9;
    println!(
        "{gb:.2} GB: receiver thread {:.3} CPU-s/GB (wall time per GB: recv {:.3} s, crc32c {:.3} s, pwrite {:.3} s)",
        cpu.as_secs_f64() / gb,
        steps[0].as_secs_f64() / gb,
        steps[1].as_secs_f64() / gb,
        steps[2].as_secs_f64() / gb,
    );
    Ok(())
}

/// Reads `chunks` chunks, checks and appends each; returns the thread's CPU time and the wall
/// time of the three steps.
fn receive(
    stream: &mut TcpStream,
    file: &File,
    chunks: usize,
) -> std::io::Result<(Duration, [Duration; 3])> {
    let mut buf = vec![0u8; CHUNK];
    let mut steps = [Duration::ZERO; 3];
    let mut position = 0u64;
    let mut checksum = 0u32;
    let cpu_before = thread_cpu()?;
    for _ in 0..chunks {
        let t0 = Instant::now();
        stream.read_exact(&mut buf)?;
        let t1 = Instant::now();
        checksum ^= crc32c::crc32c(&buf);
        let t2 = Instant::now();
        file.write_all_at(&buf, position)?;
        let t3 = Instant::now();
        position += CHUNK as u64;
        steps[0] += t1 - t0;
        steps[1] += t2 - t1;
        steps[2] += t3 - t2;
    }
    let cpu = thread_cpu()?.saturating_sub(cpu_before);
    // Keeps the CRC from being optimised away.
    std::hint::black_box(checksum);
    Ok((cpu, steps))
}

/// CPU time of the calling thread: the first field of `/proc/thread-self/schedstat`, in ns.
fn thread_cpu() -> std::io::Result<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|f| f.parse::<u64>().ok())
        .ok_or_else(|| std::io::Error::other("unreadable /proc/thread-self/schedstat"))?;
    Ok(Duration::from_nanos(ns))
}
