import BulkheadProtocol

/// What the sealed parent does with hostile control-socket input (Sources/bulkhead/
/// ControlServer.swift): byte 0 picks the denied feature groups (bits: inspect, lifecycle,
/// console), byte 1 the surface — even: the rest is a client's datagram through
/// RequestCheck as the control socket runs it, then the typed decode of what passed; odd:
/// the rest is a worker's `metrics …` answer through MetricsReply.fromWorkerLine. Verdicts:
/// a request that passes is a control or `any` command outside every denied group (and
/// never test-only; `console`, `console.read` and `console.write` never with console denied),
/// and a `console.write` carries at most one field of input; a metrics reply built from a worker line fits its field and
/// re-encodes to what it decodes from.
public enum ControlRequestsEntry {
    public static func run(_ input: [UInt8]) -> FuzzOutcome {
        guard input.count >= 2 else { return .refused("shorter than the 2-byte prefix") }
        var denied: Set<FeatureGroup> = [.testOnly]
        for (bit, group) in [FeatureGroup.inspect, .lifecycle, .console].enumerated() where input[0] & (1 << bit) != 0 {
            denied.insert(group)
        }
        let rest = Array(input[2...])
        if input[1] & 1 == 1 { return workerLine(rest) }
        var datagram = ReceivedDatagram(bytes: rest, fds: [], dataTruncated: rest.count > ProtocolLimits.maxMessageSize)
        switch RequestCheck.check(&datagram, served: .control, denied: denied) {
        case .error(let error, _, _, _):
            return .refused(error.description)
        case .request(let request):
            check(request.command.helper == .control || request.command.helper == .any, "only control and protocol commands pass")
            check(!request.command.groups.contains(where: denied.contains), "\(request.command.name) passed a denied group")
            check(request.fds.isEmpty, "no fds were sent")
            do {
                switch request.command.id {
                case CommandCatalog.stop.id: _ = try request.decode(StopRequest.self)
                case CommandCatalog.hello.id: _ = try request.decode(HelloRequest.self)
                case CommandCatalog.consoleWrite.id:
                    let write = try request.decode(ConsoleWriteRequest.self)
                    check(write.input.count <= ProtocolLimits.maxFieldLength, "console.write input within one field")
                default: check(request.body.isEmpty, "\(request.command.name) takes no arguments")
                }
            } catch {
                check(false, "a body of \(request.command.name)'s shape did not decode: \(error)")
            }
            return .accepted
        }
    }

    static func workerLine(_ bytes: [UInt8]) -> FuzzOutcome {
        let line = Substring(text(bytes))
        let metrics: MetricsReply
        do { metrics = try MetricsReply.fromWorkerLine(line) } catch { return .refused(error.description) }
        check(metrics.counters.count <= MetricsReply.maxCounters, "at most maxCounters counters")
        let body = metrics.body
        check(body.count <= ProtocolLimits.maxBodySize, "the reply fits a datagram")
        check((try? BodyReader.validate(body, against: CommandCatalog.metrics.reply)) != nil, "the reply has the catalog's shape")
        check((try? MetricsReply.decode(body)) == metrics, "the reply decodes to what was built")
        return .accepted
    }
}
