//! The commit log in front of the redb file: a workflow commit is one record appended here
//! and synced — one page and one `fdatasync` — instead of redb's durable commit, which
//! rewrites a leaf-to-root path in every table it touches plus redb's own free-page tree
//! (about twelve scattered pages per commit, measured). The changes themselves go into redb
//! in a commit that is not synced ([`redb::Durability::None`]), made visible only after its
//! record is durable, and a *checkpoint* (a durable redb commit) later writes them all out
//! at once; the log then starts again from its beginning.
//!
//! A record on the file, packed one after another from offset 0:
//!
//! ```text
//! [magic "ELG1": 4][sequence: u64 LE][length: u32 LE][crc32 of sequence, length and body: u32 LE][body]
//! ```
//!
//! Sequences grow by one from record to record across checkpoints. The redb file keeps the
//! sequence its last checkpoint covers; opening the store replays the records after it, in
//! order, and stops at the first that is torn (bad magic or checksum) or out of sequence —
//! a record left from before the last checkpoint, past the new tail. A record is only ever
//! acknowledged after its sync, so what replay cannot read was never acknowledged.
//!
//! The file is allocated in full when opened (zeros), so an append never grows it and its
//! `fdatasync` has no metadata to write.

use redb::StorageBackend;

use endure_core::storage::StorageError;

/// What each record starts with (and what zeros, the file's fill, never are).
const MAGIC: [u8; 4] = *b"ELG1";

/// Bytes of a record's header: magic, sequence, length and checksum.
pub(super) const HEADER_BYTES: u64 = 4 + 8 + 4 + 4;

/// The chunk the file is zero-filled in when it is allocated.
const FILL_CHUNK_BYTES: usize = 1 << 20;

/// The log file's size and when it asks for a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalConfig {
    /// Bytes the log file is allocated with (and never grows past): 16 MiB by default.
    /// A commit whose record would not fit is made durable in redb directly instead.
    pub capacity_bytes: u64,
    /// Bytes of records after which the next commit checkpoints: 8 MiB by default. It also
    /// bounds the redb pages held in memory between checkpoints, how long a checkpoint
    /// holds the writer and the work of a replay. Measured on a 2-core VM: 8 MiB writes 41 %
    /// fewer bytes than 2 MiB (hello 4.4 KB per workflow against 7.5 KB; a page rewritten by
    /// many commits is written once per checkpoint), at the same timers lateness (p99
    /// 3.6–5.2 ms against 3.1–4.9 ms) and the same idle RSS; reopening after a SIGKILL with
    /// a full log took 88–91 ms against 25–35 ms. (The 46–103 ms lateness once measured at
    /// 8 MiB was the kernel's huge-page stalls, since turned off.)
    pub checkpoint_bytes: u64,
}

impl Default for WalConfig {
    fn default() -> Self {
        Self {
            capacity_bytes: 16 << 20,
            checkpoint_bytes: 8 << 20,
        }
    }
}

/// The commit log on its file.
pub(super) struct Wal {
    backend: Box<dyn StorageBackend>,
    config: WalConfig,
    /// Where the next record goes.
    tail: u64,
    /// The sequence of the last record appended or replayed (or covered by the checkpoint
    /// the store opened at).
    last_sequence: u64,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("tail", &self.tail)
            .field("last_sequence", &self.last_sequence)
            .finish_non_exhaustive()
    }
}

/// What the log says about itself when it is opened.
const THE_LOG: &str = "the commit log";

fn log_error(error: impl std::fmt::Display) -> StorageError {
    StorageError::Io(format!("{THE_LOG}: {error}"))
}

fn corrupt(reason: String) -> StorageError {
    StorageError::Corrupt {
        what: THE_LOG.into(),
        reason,
    }
}

fn checksum(sequence: u64, length: u32, body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sequence.to_le_bytes());
    hasher.update(&length.to_le_bytes());
    hasher.update(body);
    hasher.finalize()
}

/// The bytes of one record.
pub(super) fn encode_record(sequence: u64, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(body.len()).expect("a record body is under the log's capacity");
    let mut record = Vec::with_capacity(HEADER_BYTES as usize + body.len());
    record.extend_from_slice(&MAGIC);
    record.extend_from_slice(&sequence.to_le_bytes());
    record.extend_from_slice(&length.to_le_bytes());
    record.extend_from_slice(&checksum(sequence, length, body).to_le_bytes());
    record.extend_from_slice(body);
    record
}

/// The record at the start of `bytes`: its sequence and body, or `None` where there is no
/// whole, intact record (zeros, a torn write, the end of the file).
fn decode_record(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let header = bytes.get(..HEADER_BYTES as usize)?;
    if header[..4] != MAGIC {
        return None;
    }
    let sequence = u64::from_le_bytes(header[4..12].try_into().ok()?);
    let length = u32::from_le_bytes(header[12..16].try_into().ok()?);
    let stored = u32::from_le_bytes(header[16..20].try_into().ok()?);
    let start = HEADER_BYTES as usize;
    let body = bytes.get(start..start.checked_add(usize::try_from(length).ok()?)?)?;
    (checksum(sequence, length, body) == stored).then_some((sequence, body))
}

impl Wal {
    /// Opens the log on `backend` (allocating its file if it is new or short) and returns
    /// it with the bodies of the records after `applied` — the sequence the redb file's
    /// last checkpoint covers — in order: the commits to replay.
    pub(super) fn open(
        backend: Box<dyn StorageBackend>,
        config: WalConfig,
        applied: u64,
    ) -> Result<(Self, Vec<Vec<u8>>), StorageError> {
        debug_assert!(config.checkpoint_bytes <= config.capacity_bytes);
        let length = backend.len().map_err(log_error)?;
        let mut image = vec![0_u8; usize::try_from(length).map_err(log_error)?];
        if length > 0 {
            backend.read(0, &mut image).map_err(log_error)?;
        }
        let (tail, last_sequence, replay) = scan(&image, applied)?;
        if length < config.capacity_bytes {
            backend.set_len(config.capacity_bytes).map_err(log_error)?;
            let zeros = vec![0_u8; FILL_CHUNK_BYTES];
            let mut offset = length;
            while offset < config.capacity_bytes {
                let chunk = (config.capacity_bytes - offset).min(FILL_CHUNK_BYTES as u64);
                backend
                    .write(offset, &zeros[..chunk as usize])
                    .map_err(log_error)?;
                offset += chunk;
            }
            backend.sync_data().map_err(log_error)?;
        }
        let log = Self {
            backend,
            config,
            tail,
            last_sequence,
        };
        Ok((log, replay))
    }

    /// The sequence of the last record appended or replayed.
    pub(super) fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Whether a record of `body_bytes` fits in what is left of the file.
    pub(super) fn fits(&self, body_bytes: usize) -> bool {
        self.tail + HEADER_BYTES + body_bytes as u64 <= self.config.capacity_bytes
    }

    /// Whether enough has been appended since the last checkpoint that one is due.
    pub(super) fn checkpoint_due(&self) -> bool {
        self.tail >= self.config.checkpoint_bytes
    }

    /// Appends `body` as the next record and syncs it; returns its sequence. The caller
    /// has checked that it [fits](Self::fits). After an error nothing may be assumed of the
    /// record: the store stops, and the next open reads whatever the disk kept.
    pub(super) fn append(&mut self, body: &[u8]) -> Result<u64, StorageError> {
        debug_assert!(self.fits(body.len()));
        let sequence = self.last_sequence + 1;
        let record = encode_record(sequence, body);
        self.backend.write(self.tail, &record).map_err(log_error)?;
        self.backend.sync_data().map_err(log_error)?;
        self.tail += record.len() as u64;
        self.last_sequence = sequence;
        Ok(sequence)
    }

    /// Starts the log again from its beginning, once a durable redb commit covers every
    /// record in it. Nothing is written: the old records left on the file are skipped by
    /// replay (their sequences are covered) and the next append overwrites them.
    pub(super) fn restart(&mut self) {
        self.tail = 0;
    }
}

/// The bodies of the records of a log file's bytes `image` after `applied`: what the next
/// open replays (for `endure admin check`).
pub(super) fn unapplied(image: &[u8], applied: u64) -> Result<Vec<Vec<u8>>, StorageError> {
    scan(image, applied).map(|(_, _, bodies)| bodies)
}

/// Walks the records of `image`: returns where the next record goes, the last sequence,
/// and the bodies after `applied`.
fn scan(image: &[u8], applied: u64) -> Result<(u64, u64, Vec<Vec<u8>>), StorageError> {
    let mut offset = 0_usize;
    let mut previous: Option<u64> = None;
    let mut replay = Vec::new();
    let mut tail = 0_usize;
    let mut damaged_at = None;
    loop {
        let Some((sequence, body)) = image.get(offset..).and_then(decode_record) else {
            damaged_at = Some(offset);
            break;
        };
        if previous.is_some_and(|previous| sequence != previous + 1) {
            // A record from before the last checkpoint, past the new tail.
            break;
        }
        if sequence > applied {
            if previous.is_none() && sequence != applied + 1 {
                return Err(corrupt(format!(
                    "its first record is number {sequence}, but the store's last checkpoint \
                     covers records up to {applied}: the records between are missing"
                )));
            }
            replay.push(body.to_vec());
        }
        previous = Some(sequence);
        offset += HEADER_BYTES as usize + body.len();
        tail = offset;
    }
    // With no record after the checkpoint, the next record may overwrite the stale ones.
    let (tail, last) = if replay.is_empty() {
        (0, applied)
    } else {
        (tail as u64, applied + replay.len() as u64)
    };
    // A torn write can only be the last record. One whose body is damaged although the
    // next record follows it whole was synced, and acknowledged: that is corruption.
    if let Some(next) = damaged_at.and_then(|offset| record_after(image, offset))
        && next > last
    {
        return Err(corrupt(format!(
            "record {} is damaged, yet record {next} follows it whole: records that were \
             acknowledged cannot be read",
            last + 1
        )));
    }
    Ok((tail, last, replay))
}

/// The sequence of the whole record right after the record at `offset`, when that one has
/// a well-formed header (its body may be damaged).
fn record_after(image: &[u8], offset: usize) -> Option<u64> {
    let header = image.get(offset..offset + HEADER_BYTES as usize)?;
    if header[..4] != MAGIC {
        return None;
    }
    let length = u32::from_le_bytes(header[12..16].try_into().ok()?);
    let next = offset
        .checked_add(HEADER_BYTES as usize)?
        .checked_add(usize::try_from(length).ok()?)?;
    image
        .get(next..)
        .and_then(decode_record)
        .map(|(sequence, _)| sequence)
}

#[cfg(test)]
mod tests {
    use redb::backends::InMemoryBackend;

    use super::*;

    /// A backend sharing one in-memory file between log generations.
    #[derive(Debug, Clone)]
    struct Shared(std::sync::Arc<InMemoryBackend>);

    impl StorageBackend for Shared {
        fn len(&self) -> std::io::Result<u64> {
            self.0.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
            self.0.read(offset, out)
        }
        fn set_len(&self, len: u64) -> std::io::Result<()> {
            self.0.set_len(len)
        }
        fn sync_data(&self) -> std::io::Result<()> {
            self.0.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
            self.0.write(offset, data)
        }
    }

    const SMALL: WalConfig = WalConfig {
        capacity_bytes: 4096,
        checkpoint_bytes: 2048,
    };

    fn file() -> Shared {
        Shared(std::sync::Arc::new(InMemoryBackend::new()))
    }

    fn open(file: &Shared, applied: u64) -> Result<(Wal, Vec<Vec<u8>>), StorageError> {
        Wal::open(Box::new(file.clone()), SMALL, applied)
    }

    #[test]
    fn a_record_has_a_fixed_layout() {
        let record = encode_record(7, b"abc");
        assert_eq!(&record[..4], b"ELG1");
        assert_eq!(&record[4..12], &7_u64.to_le_bytes());
        assert_eq!(&record[12..16], &3_u32.to_le_bytes());
        assert_eq!(
            &record[16..20],
            &checksum(7, 3, b"abc").to_le_bytes(),
            "crc32 (IEEE) of the sequence, the length and the body"
        );
        // Python: zlib.crc32(struct.pack("<QI", 7, 3) + b"abc").
        assert_eq!(checksum(7, 3, b"abc"), 0xb75f_8eb0);
        assert_eq!(&record[20..], b"abc");
        assert_eq!(decode_record(&record), Some((7, b"abc".as_slice())));
    }

    #[test]
    fn a_new_log_is_allocated_in_full_and_replays_nothing() {
        let file = file();
        let (log, replay) = open(&file, 0).unwrap();
        assert!(replay.is_empty());
        assert_eq!(file.len().unwrap(), SMALL.capacity_bytes);
        assert_eq!(log.last_sequence(), 0);
    }

    #[test]
    fn records_after_the_checkpoint_are_replayed_in_order() {
        let file = file();
        let (mut log, _) = open(&file, 0).unwrap();
        for body in [b"one".as_slice(), b"two", b"three"] {
            log.append(body).unwrap();
        }
        assert_eq!(log.last_sequence(), 3);
        let (log, replay) = open(&file, 1).unwrap();
        assert_eq!(replay, vec![b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(log.last_sequence(), 3);
        let (_, replay) = open(&file, 3).unwrap();
        assert!(replay.is_empty());
    }

    #[test]
    fn a_torn_record_ends_the_replay() {
        let file = file();
        let (mut log, _) = open(&file, 0).unwrap();
        log.append(b"whole").unwrap();
        let tail = log.tail;
        log.append(b"torn in the middle").unwrap();
        // Flip a byte of the second record's body, as a write cut short leaves it.
        file.write(tail + HEADER_BYTES + 3, b"X").unwrap();
        let (mut log, replay) = open(&file, 0).unwrap();
        assert_eq!(replay, vec![b"whole".to_vec()]);
        assert_eq!(log.last_sequence(), 1);
        // The next record overwrites the torn one.
        assert_eq!(log.append(b"next").unwrap(), 2);
        let (_, replay) = open(&file, 0).unwrap();
        assert_eq!(replay, vec![b"whole".to_vec(), b"next".to_vec()]);
    }

    #[test]
    fn records_left_from_before_a_checkpoint_are_never_replayed() {
        let file = file();
        let (mut log, _) = open(&file, 0).unwrap();
        for body in [b"aaaa".as_slice(), b"bbbb", b"cccc", b"dddd"] {
            log.append(body).unwrap();
        }
        // A checkpoint covers 1..=4; the log starts again and writes 5 over record 1.
        log.restart();
        assert_eq!(log.append(b"eeee").unwrap(), 5);
        // Record 2 follows record 5 on the file, whole, but out of sequence.
        let (log, replay) = open(&file, 4).unwrap();
        assert_eq!(replay, vec![b"eeee".to_vec()]);
        assert_eq!((log.tail, log.last_sequence()), (HEADER_BYTES + 4, 5));
        // Reopened right after the checkpoint, before record 5: nothing to replay, and
        // the next record goes at the start.
        let file = self::file();
        let (mut log, _) = open(&file, 0).unwrap();
        for body in [b"aaaa".as_slice(), b"bbbb"] {
            log.append(body).unwrap();
        }
        let (log, replay) = open(&file, 2).unwrap();
        assert!(replay.is_empty());
        assert_eq!((log.tail, log.last_sequence()), (0, 2));
    }

    #[test]
    fn a_gap_after_the_checkpoint_is_corruption() {
        let file = file();
        let (mut log, _) = open(&file, 0).unwrap();
        log.append(b"one").unwrap();
        log.append(b"two").unwrap();
        // The store says its checkpoint covers nothing, yet the log begins at 5.
        file.write(0, &encode_record(5, b"one")).unwrap();
        let error = open(&file, 0).unwrap_err();
        assert!(
            matches!(&error, StorageError::Corrupt { what, reason } if what == THE_LOG && reason.contains("missing")),
            "{error:?}"
        );
    }

    #[test]
    fn a_damaged_record_with_a_whole_one_after_it_is_corruption() {
        let file = file();
        let (mut log, _) = open(&file, 0).unwrap();
        log.append(b"one").unwrap();
        let second = log.tail;
        log.append(b"two").unwrap();
        log.append(b"three").unwrap();
        // Bit rot in record 2's body; record 3 after it is whole.
        file.write(second + HEADER_BYTES, b"X").unwrap();
        let error = open(&file, 0).unwrap_err();
        assert!(
            matches!(&error, StorageError::Corrupt { reason, .. } if reason.contains("record 2 is damaged, yet record 3")),
            "{error:?}"
        );
        // The same damage to the last record is a torn write: replay ends before it.
        let file = self::file();
        let (mut log, _) = open(&file, 0).unwrap();
        log.append(b"one").unwrap();
        let last = log.tail;
        log.append(b"two").unwrap();
        file.write(last + HEADER_BYTES, b"X").unwrap();
        let (_, replay) = open(&file, 0).unwrap();
        assert_eq!(replay, vec![b"one".to_vec()]);
    }

    #[test]
    fn what_fits_and_when_a_checkpoint_is_due() {
        let file = file();
        let (mut log, _) = open(&file, 0).unwrap();
        assert!(log.fits(4096 - HEADER_BYTES as usize));
        assert!(!log.fits(4096 - HEADER_BYTES as usize + 1));
        assert!(!log.checkpoint_due());
        log.append(&[1; 2048]).unwrap();
        assert!(log.checkpoint_due());
        assert!(!log.fits(2048));
        log.restart();
        assert!(!log.checkpoint_due());
        assert!(log.fits(2048));
    }

    #[test]
    fn garbage_never_decodes_as_a_record() {
        assert_eq!(decode_record(&[]), None);
        assert_eq!(decode_record(&[0; 64]), None);
        let mut record = encode_record(1, b"body");
        record[12] = 0xff; // a length past the end
        assert_eq!(decode_record(&record), None);
        let record = encode_record(1, b"body");
        assert_eq!(decode_record(&record[..record.len() - 1]), None);
    }
}
