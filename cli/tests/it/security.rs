//! The server's security from the command line, in real processes: TLS and credentials
//! from files (`--tls-cert`, `--tls-key`, `--auth-config`), the CLI's `--tls-ca` and
//! `--api-key`, a stock client's handshake (`openssl s_client`) on the native and HTTP
//! listeners, an API key made by `endure admin api-key create` accepted once the
//! configuration file is edited (reloaded while the server runs), and the refusal to
//! listen beyond loopback unprotected.
#![allow(
    clippy::disallowed_methods,
    reason = "real processes, waited for on the wall clock"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::processes::{Server, cli, fails, ok, run};

/// A test CA, its certificate written to `dir/ca.pem`: (the issuer, the file).
fn authority(dir: &Path) -> (Issuer<'static, KeyPair>, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Endure Test CA");
    let certificate = params.self_signed(&key).unwrap();
    let file = dir.join("ca.pem");
    std::fs::write(&file, certificate.pem()).unwrap();
    (Issuer::new(params, key), file)
}

/// A certificate for `names` (the subject's CN is the first) issued by `issuer`, written to
/// `dir` as `<file>.pem` and `<file>.key`: (cert, key).
fn issue(
    dir: &Path,
    issuer: &Issuer<'_, KeyPair>,
    names: &[&str],
    file: &str,
) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let certificate = params.signed_by(&key, issuer).unwrap();
    let paths = (
        dir.join(format!("{file}.pem")),
        dir.join(format!("{file}.key")),
    );
    std::fs::write(&paths.0, certificate.pem()).unwrap();
    std::fs::write(&paths.1, key.serialize_pem()).unwrap();
    paths
}

/// A CA and a server certificate for `localhost` and 127.0.0.1 it issued, as files in
/// `dir`: (ca, cert, key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (issuer, ca) = authority(dir);
    let (cert, key) = issue(dir, &issuer, &["localhost", "127.0.0.1"], "server");
    (ca, cert, key)
}

/// `openssl s_client` to `address` trusting `ca`, sending `request`: what it printed.
fn s_client(address: &str, ca: &Path, request: &str) -> (bool, String) {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", address, "-servername", "localhost"])
        .args(["-verify_return_error", "-CAfile"])
        .arg(ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is installed (.ci/run installs it)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(request.as_bytes()).unwrap();
    // Keep stdin open a moment so an HTTP answer can come back, then close it.
    std::thread::sleep(Duration::from_millis(500));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The key line of `endure admin api-key create`'s output, and its config entry.
fn create_key(name: &str, permission: &str) -> (String, String) {
    let created = ok(run(&[
        "admin", "api-key", "create", "--name", name, "-p", permission,
    ]));
    let key = created
        .stdout
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("endure_"))
        .unwrap_or_else(|| panic!("no key in {created:?}"))
        .to_owned();
    let entry = created.stdout[created.stdout.find("[[api_key]]").unwrap()..].to_owned();
    (key, entry)
}

#[test]
fn tls_and_api_keys_from_files_protect_the_server_and_a_new_key_works_after_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let (writer_key, writer_entry) = create_key("ops", "default:write");
    assert!(
        writer_entry.contains("permissions = [\"default:write\"]"),
        "{writer_entry}"
    );
    assert!(
        !writer_entry.contains(&writer_key),
        "only the hash is written"
    );
    let auth = dir.path().join("auth.toml");
    std::fs::write(&auth, &writer_entry).unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start_with(
        &dir.path().join("store.redb"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--auth-config",
            auth.to_str().unwrap(),
        ],
        &log,
    );
    let tls = [
        "--tls-ca",
        ca.to_str().unwrap(),
        "--tls-server-name",
        "localhost",
    ];
    let with = |extra: &[&str], args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(extra);
        cli(&server.address, &all)
    };

    // TLS and the key: the CLI works.
    let mut keyed: Vec<&str> = tls.to_vec();
    keyed.extend(["--api-key", &writer_key]);
    ok(with(&keyed, &["workflow", "list", "-o", "json"]));
    ok(with(
        &keyed,
        &[
            "workflow", "start", "--type", "Nothing", "-t", "q", "-w", "by-cli",
        ],
    ));
    // No key, a wrong key, no TLS.
    fails(with(&tls, &["workflow", "list"]), 4, "requires credentials");
    let mut wrong: Vec<&str> = tls.to_vec();
    wrong.extend(["--api-key", "endure_wrong"]);
    fails(with(&wrong, &["workflow", "list"]), 4, "not valid");
    let plain = cli(
        &server.address,
        &["workflow", "list", "--api-key", &writer_key],
    );
    assert_ne!(plain.code, 0, "{plain:?}");

    // A stock client: the native listener's handshake verifies against the CA, and the
    // HTTP listener answers /healthz over TLS.
    let (verified, said) = s_client(&server.address, &ca, "");
    assert!(verified, "{said}");
    assert!(said.contains("Verify return code: 0 (ok)"), "{said}");
    let metrics = server.metrics.clone().expect("a metrics listener");
    let (_, answer) = s_client(
        &metrics,
        &ca,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.contains("HTTP/1.1 200"), "{answer}");
    // The call without a key was counted as refused.
    let (_, scraped) = s_client(
        &metrics,
        &ca,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(
        scraped.contains("endure_requests_refused_total{reason=\"Unauthenticated\"} 1"),
        "{scraped}"
    );

    // A reader key added to the file while the server runs: refused, then accepted once
    // the server reloads the file; the writer's key, taken out, stops working.
    let (reader_key, reader_entry) = create_key("dashboard", "default:read");
    let mut as_reader: Vec<&str> = tls.to_vec();
    as_reader.extend(["--api-key", &reader_key]);
    fails(with(&as_reader, &["workflow", "list"]), 4, "not valid");
    std::fs::write(&auth, &reader_entry).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let outcome = with(&as_reader, &["workflow", "list"]);
        if outcome.code == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the edited file was not reloaded: {outcome:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    fails(with(&keyed, &["workflow", "list"]), 4, "not valid");
    fails(
        with(
            &as_reader,
            &["workflow", "terminate", "-w", "by-cli", "--reason", "x"],
        ),
        4,
        "writer",
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("auth configuration reloaded"), "{log}");
}

#[test]
fn listening_beyond_loopback_unprotected_needs_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let refused = run(&[
        "server",
        "start-dev",
        "--db-filename",
        ":memory:",
        "--ip",
        "0.0.0.0",
        "--port",
        "0",
        "--no-metrics",
    ]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--insecure"), "{refused:?}");
    assert!(refused.stderr.contains("--auth-config"), "{refused:?}");
    let server = Server::start_with(
        &dir.path().join("store.redb"),
        &["--ip", "0.0.0.0", "--insecure"],
        &dir.path().join("server.log"),
    );
    let port = server.port();
    ok(cli(&format!("127.0.0.1:{port}"), &["workflow", "list"]));
}

#[test]
fn mutual_tls_and_a_jwt_from_the_command_line() {
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let dir = tempfile::tempdir().unwrap();
    // The CA, the server's certificate, and two clients' certificates.
    let (issuer, ca) = authority(dir.path());
    let (cert, key) = issue(dir.path(), &issuer, &["localhost"], "server");
    let (ops_cert, ops_key) = issue(dir.path(), &issuer, &["ops-console"], "ops");
    let (bot_cert, bot_key) = issue(dir.path(), &issuer, &["ci-bot"], "bot");
    // A JWT signing key, its public half in the server's JWKS.
    let signing = KeyPair::generate().unwrap();
    let encoding = EncodingKey::from_ec_der(&signing.serialize_der());
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("k1".into());
    std::fs::write(
        dir.path().join("jwks.json"),
        serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap(),
    )
    .unwrap();
    let auth = dir.path().join("auth.toml");
    std::fs::write(
        &auth,
        "[[certificate]]\nsubject = \"CN=ops-console\"\npermissions = [\"default:read\"]\n\n[jwt]\njwks_file = \"jwks.json\"\naudience = \"endure\"\n",
    )
    .unwrap();
    let server = Server::start_with(
        &dir.path().join("store.redb"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--tls-client-ca",
            ca.to_str().unwrap(),
            "--auth-config",
            auth.to_str().unwrap(),
        ],
        &dir.path().join("server.log"),
    );
    let as_client = |cert: &Path, key: &Path, extra: &[&str], args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--tls-ca",
            ca.to_str().unwrap(),
            "--tls-server-name",
            "localhost",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ]);
        all.extend(extra);
        cli(&server.address, &all)
    };

    // The certificate alone: its subject's role, reader.
    ok(as_client(&ops_cert, &ops_key, &[], &["workflow", "list"]));
    fails(
        as_client(
            &ops_cert,
            &ops_key,
            &[],
            &["workflow", "start", "--type", "T", "-t", "q", "-w", "x"],
        ),
        4,
        "writer",
    );
    // Without a client certificate the handshake fails.
    let mut no_certificate = vec!["workflow", "list", "--tls-ca", ca.to_str().unwrap()];
    no_certificate.extend(["--tls-server-name", "localhost"]);
    assert_ne!(cli(&server.address, &no_certificate).code, 0);

    // A certificate the configuration does not name, with a JWT: the token's roles.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = |claims: serde_json::Value| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
    };
    let writer = token(serde_json::json!({
        "sub": "ci-bot", "aud": "endure", "exp": now + 600, "permissions": ["default:write"],
    }));
    ok(as_client(
        &bot_cert,
        &bot_key,
        &["--api-key", &writer],
        &[
            "workflow", "start", "--type", "T", "-t", "q", "-w", "by-jwt",
        ],
    ));
    let expired = token(serde_json::json!({
        "sub": "ci-bot", "aud": "endure", "exp": now - 3600, "permissions": ["default:write"],
    }));
    fails(
        as_client(
            &bot_cert,
            &bot_key,
            &["--api-key", &expired],
            &["workflow", "list"],
        ),
        4,
        "expired",
    );
    let other_audience = token(serde_json::json!({
        "sub": "ci-bot", "aud": "someone-else", "exp": now + 600, "permissions": ["default:write"],
    }));
    fails(
        as_client(
            &bot_cert,
            &bot_key,
            &["--api-key", &other_audience],
            &["workflow", "list"],
        ),
        4,
        "not valid",
    );
}
