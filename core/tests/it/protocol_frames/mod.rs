//! Golden frames of the wire protocol: a sample of every RPC's request, as the client's
//! call frame, and of its response, as the server's reply frame, encoded by this build and
//! pinned in `core/tests/golden-protocol/v<PROTOCOL_VERSION>/`. A change to any message
//! fails here until `wire::PROTOCOL_VERSION` is bumped (peers of another version are refused
//! at the handshake) and the frames blessed:
//! `ENDURE_BLESS=1 cargo test -p endure-core --test it protocol_frames`.

mod fixtures;
mod rpc_samples;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use endure_core::protocol::{
    CompleteWorkflowTaskResponse, ErrorKind, RemoteError, Request, Response,
};
use endure_core::wire::{self, ClientFrame, ServerFrame};

use fixtures::run;
pub(crate) use rpc_samples::samples;

fn directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden-protocol")
        .join(format!("v{}", wire::PROTOCOL_VERSION))
}

/// Every frame this build writes for the samples, by file name.
fn frames() -> Vec<(String, Vec<u8>)> {
    let mut frames = Vec::new();
    for (index, (request, response)) in samples().into_iter().enumerate() {
        let name = request.name();
        let borrowed = wire::encode_call(
            index as u64 + 1,
            Some(Duration::from_secs(30)),
            &request,
            wire::DEFAULT_MAX_FRAME_BYTES,
        )
        .unwrap();
        let call = ClientFrame::Call {
            id: index as u64 + 1,
            timeout: Some(Duration::from_secs(30)),
            request: Box::new(request),
        };
        let reply = ServerFrame::Reply {
            id: index as u64 + 1,
            result: Ok(response),
        };
        let limit = wire::DEFAULT_MAX_FRAME_BYTES;
        // A call encoded from a borrowed request is the owned frame, byte for byte.
        assert_eq!(
            borrowed,
            wire::encode_frame(&call, limit).unwrap(),
            "{name}"
        );
        frames.push((
            format!("request-{:02}-{name}.bin", index + 1),
            wire::encode_frame(&call, limit).unwrap(),
        ));
        frames.push((
            format!("response-{:02}-{name}.bin", index + 1),
            wire::encode_frame(&reply, limit).unwrap(),
        ));
    }
    // The completion's other answer: taken, with an activity started eagerly for the worker.
    let eager = ServerFrame::Reply {
        id: 98,
        result: Ok(Response::CompleteWorkflowTask(
            CompleteWorkflowTaskResponse::AcceptedWithActivityTasks {
                activity_tasks: vec![rpc_samples::activity_task()],
            },
        )),
    };
    frames.push((
        "response-eager-activity-tasks.bin".into(),
        wire::encode_frame(&eager, wire::DEFAULT_MAX_FRAME_BYTES).unwrap(),
    ));
    let refused = ServerFrame::Reply {
        id: 99,
        result: Err(RemoteError {
            kind: ErrorKind::AlreadyStarted,
            message: "workflow order_42 already started".into(),
            run_id: Some(run()),
        }),
    };
    frames.push((
        "response-error.bin".into(),
        wire::encode_frame(&refused, wire::DEFAULT_MAX_FRAME_BYTES).unwrap(),
    ));
    let denied = ServerFrame::Reply {
        id: 100,
        result: Err(RemoteError {
            kind: ErrorKind::PermissionDenied,
            message: "TerminateWorkflow in namespace \"payments\" needs the writer role".into(),
            run_id: None,
        }),
    };
    frames.push((
        "response-permission-denied.bin".into(),
        wire::encode_frame(&denied, wire::DEFAULT_MAX_FRAME_BYTES).unwrap(),
    ));
    let authenticate = ClientFrame::Authenticate {
        token: "endure_k1.sample-api-key".into(),
    };
    frames.push((
        "client-authenticate.bin".into(),
        wire::encode_frame(&authenticate, wire::DEFAULT_MAX_FRAME_BYTES).unwrap(),
    ));
    let authenticated = ServerFrame::Authenticated {
        subject: "orders-worker".into(),
    };
    frames.push((
        "server-authenticated.bin".into(),
        wire::encode_frame(&authenticated, wire::DEFAULT_MAX_FRAME_BYTES).unwrap(),
    ));
    frames
}

#[test]
fn the_samples_cover_every_rpc_with_its_own_response() {
    let samples = samples();
    let names: Vec<&str> = samples.iter().map(|(request, _)| request.name()).collect();
    assert_eq!(names, Request::NAMES);
    for (request, response) in samples {
        // The response is the request's own variant: `Rpc::from_response` takes it.
        let name = request.name();
        let same = format!("{response:?}").starts_with(name);
        assert!(same, "{name} sampled with {response:?}");
    }
}

#[test]
fn frames_match_the_golden_files_of_the_current_protocol_version() {
    let directory = directory();
    let bless = std::env::var_os("ENDURE_BLESS").is_some();
    if bless {
        fs::create_dir_all(&directory).unwrap();
    }
    for (name, bytes) in frames() {
        let path = directory.join(&name);
        if bless {
            fs::write(&path, &bytes).unwrap();
        }
        let Ok(golden) = fs::read(&path) else {
            panic!(
                "{} is missing; write it with ENDURE_BLESS=1 cargo test -p endure-core --test it protocol_frames",
                path.display()
            );
        };
        assert!(
            golden == bytes,
            "the encoding of {name} changed: a message changed shape. Bump wire::PROTOCOL_VERSION \
             (peers of another version are refused at the handshake) and bless the frames"
        );
        // And the golden bytes decode to a frame that encodes to them again.
        let body = &golden[wire::LENGTH_PREFIX_BYTES..];
        let again = if name.starts_with("request") {
            let frame: ClientFrame = wire::decode_frame(body).unwrap();
            wire::encode_frame(&frame, wire::DEFAULT_MAX_FRAME_BYTES).unwrap()
        } else {
            let frame: ServerFrame = wire::decode_frame(body).unwrap();
            wire::encode_frame(&frame, wire::DEFAULT_MAX_FRAME_BYTES).unwrap()
        };
        assert_eq!(again, golden, "{name}");
    }
}
