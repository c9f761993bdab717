"""An independent client for the wire contract: Debian's python3-grpcio and
python3-protobuf, with message classes generated at test time from the repo's
proto/veil/v1/node.proto (protoc --python_out; Debian's grpcio has no grpc_tools, so the
calls use grpc's generic channel.unary_unary). Calls Info and RunSegment on a running
`veil node` and checks the reply against `veil run` on one machine."""
import hashlib
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodes import NodeProcess, run  # noqa: E402

import grpc  # noqa: E402
import numpy as np  # noqa: E402

veil, src, protoc = sys.argv[1], sys.argv[2], sys.argv[3]

with tempfile.TemporaryDirectory() as tmp:
    gen = os.path.join(tmp, "gen")
    os.makedirs(gen)
    subprocess.run([protoc, "--proto_path=" + os.path.join(src, "proto"), "--python_out=" + gen,
                    os.path.join(src, "proto", "veil", "v1", "node.proto")], check=True)
    sys.path.insert(0, gen)
    from veil.v1 import node_pb2 as pb  # noqa: E402

    model = os.path.join(tmp, "mlp.veil")
    run([veil, "import", os.path.join(src, "models", "mlp", "mlp.onnx"), "--calibration",
         os.path.join(src, "models", "mlp", "calibration.npy"), "-o", model, "--segments", "3"])
    node = NodeProcess(veil, model, "1")
    try:
        channel = grpc.insecure_channel(node.address)
        grpc.channel_ready_future(channel).result(timeout=20)
        info_rpc = channel.unary_unary("/veil.v1.Node/Info", request_serializer=pb.InfoRequest.SerializeToString,
                                       response_deserializer=pb.InfoReply.FromString)
        run_rpc = channel.unary_unary("/veil.v1.Node/RunSegment",
                                      request_serializer=pb.RunSegmentRequest.SerializeToString,
                                      response_deserializer=pb.RunSegmentReply.FromString)

        info = info_rpc(pb.InfoRequest(), timeout=10)
        assert [s.model_name for s in info.segments] == ["mlp"], info
        assert len(info.segments) == 1 and info.segments[0].segment_index == 1, info
        seg = info.segments[0]
        assert len(seg.model_digest) == 32 and len(seg.segment_digest) == 32
        assert seg.segment_count == 3
        assert len(seg.inputs) == 1 and seg.inputs[0].dtype == pb.DTYPE_INT8, seg
        in_dims = list(seg.inputs[0].dims)
        out_dims = list(seg.outputs[0].dims)
        print("Info: model %s, segment %d/%d digest %s, input %s -> output %s" % (
            seg.model_name, seg.segment_index, seg.segment_count, seg.segment_digest.hex()[:16], in_dims, out_dims))
        # The model digest is the one `veil inspect` prints.
        assert seg.model_digest.hex() in run([veil, "inspect", model])

        rng = np.random.default_rng(7)
        x = rng.integers(-127, 128, size=[2] + in_dims, dtype=np.int8)
        req = pb.RunSegmentRequest(request_id="py-1", model_digest=seg.model_digest, segment_index=1,
                                   segment_digest=seg.segment_digest)
        req.inputs.add(dtype=pb.DTYPE_INT8, dims=x.shape, data=x.tobytes())
        reply = run_rpc(req, timeout=10)
        assert reply.request_id == "py-1"
        assert len(reply.stages) == 1 and reply.stages[0].segment_digest == seg.segment_digest
        assert len(reply.outputs) == 1 and list(reply.outputs[0].dims) == [2] + out_dims, reply.outputs[0].dims
        y = np.frombuffer(reply.outputs[0].data, dtype=np.int8).reshape([2] + out_dims)
        assert y.min() >= -127 and y.max() <= 127
        traces = reply.stages[0].trace_digests
        assert len(traces) >= 1 and all(len(d) == 32 for d in traces)
        print("RunSegment: output %s, %d trace digest(s)" % (list(y.shape), len(traces)))

        # Determinism across calls: same request, same bits.
        again = run_rpc(req, timeout=10)
        assert hashlib.sha256(again.outputs[0].data).digest() == hashlib.sha256(reply.outputs[0].data).digest()

        # Malformed requests get error statuses from the node, which keeps serving.
        def expect(code, r, what):
            try:
                run_rpc(r, timeout=10)
            except grpc.RpcError as e:
                assert e.code() == code, (what, e.code(), e.details())
                print("  %-22s -> %s: %s" % (what, e.code().name, e.details()))
                return
            raise AssertionError(what + ": accepted")

        bad = pb.RunSegmentRequest(); bad.CopyFrom(req); bad.segment_digest = b"\0" * 32
        expect(grpc.StatusCode.INVALID_ARGUMENT, bad, "wrong segment digest")
        bad = pb.RunSegmentRequest(); bad.CopyFrom(req); bad.model_digest = b"\1" * 32
        expect(grpc.StatusCode.NOT_FOUND, bad, "unknown model")
        bad = pb.RunSegmentRequest(); bad.CopyFrom(req); bad.inputs[0].data = bad.inputs[0].data[:-1]
        expect(grpc.StatusCode.INVALID_ARGUMENT, bad, "short data")
        bad = pb.RunSegmentRequest(); bad.CopyFrom(req); bad.inputs[0].dims[1] += 1
        expect(grpc.StatusCode.INVALID_ARGUMENT, bad, "dims vs data length")
        bad = pb.RunSegmentRequest(); bad.CopyFrom(req)  # same bytes, per-sample dims wrong
        del bad.inputs[0].dims[:]
        bad.inputs[0].dims.extend([4, in_dims[0] // 2])
        expect(grpc.StatusCode.INVALID_ARGUMENT, bad, "wrong per-sample dims")
        bad = pb.RunSegmentRequest(); bad.CopyFrom(req)
        bad.inputs[0].data = b"\x80" + bad.inputs[0].data[1:]
        expect(grpc.StatusCode.INVALID_ARGUMENT, bad, "int8 -128")
        bad = pb.RunSegmentRequest(); bad.CopyFrom(req); bad.inputs[0].data = b"\1" * (65 << 20)
        expect(grpc.StatusCode.RESOURCE_EXHAUSTED, bad, "oversized message")
        assert run_rpc(req, timeout=10).outputs[0].data == reply.outputs[0].data
        channel.close()
    finally:
        code, log = node.stop()
        print("node exit %d; log:\n%s" % (code, log))
    assert code == 0
    assert "request_id=py-1" in log
print("python client: OK")
