// bulkhead-block --socket-fd N [--seccomp MODE] [--file ro:/abs/path]... [--file rw:/abs/path]...
// Opens only the files declared on its command line (HostAccess.DeclaredFiles: canonical
// paths, walked without following links, device and inode checked) and hands back their
// fds for `block.open`. See Helpers/README.md.
import BulkheadProtocol
import HelperSupport
import HostAccess

let helper = Helper(program: "bulkhead-block", role: .block, kind: .block, options: ["--file"])
helper.run { arguments in
    let files = try DeclaredFiles(FileOptions.declarations(arguments))
    return { request in
        let open = try request.decode(BlockOpenRequest.self)
        let opened: OpenedFile
        do throws(FileRefusal) { opened = try files.open(path: open.path, access: open.access == .readWrite ? .readWrite : .readOnly) } catch {
            throw Refusal(error.description)
        }
        let kind: BlockFileKind = opened.type == .blockDevice ? .blockDevice : .file
        return Reply(BlockOpenReply(size: opened.size, access: open.access, kind: kind), fds: [opened.descriptor])
    }
}
