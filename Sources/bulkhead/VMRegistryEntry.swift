extension VMRegistry {
    /// One VM's `processes` file (the format is VMRegistry's), parsed and written back.
    struct Entry {
        let name: String
        let parent: Int32
        let parentStart: UInt64
        var uid: UInt32?
        var cgroup: CgroupRecord?
        var processes: [(role: String, pid: Int32)]

        var isLive: Bool { VMRegistry.startTime(of: parent) == parentStart }

        init?(name: String, text: String) {
            var parent: (Int32, UInt64)?
            var uid: UInt32?
            var cgroup: CgroupRecord?
            var processes: [(String, Int32)] = []
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if line.hasPrefix("cgroup /") {
                    cgroup = .directory(String(line.dropFirst(7)))
                } else if line.hasPrefix("nocgroup ") {
                    cgroup = .absent(String(line.dropFirst(9)))
                } else if fields.count == 3, fields[0] == "parent", let pid = Int32(fields[1]), let start = UInt64(fields[2]) {
                    parent = (pid, start)
                } else if fields.count == 2, fields[0] == "uid", let value = UInt32(fields[1]) {
                    uid = value
                } else if fields.count == 2, let pid = Int32(fields[1]), pid > 0, VMRegistry.isValidName(String(fields[0])) {
                    processes.append((String(fields[0]), pid))
                }
            }
            guard let parent, parent.0 > 0 else { return nil }
            self.name = name
            self.parent = parent.0
            self.parentStart = parent.1
            self.uid = uid
            self.cgroup = cgroup
            self.processes = processes
        }

        var text: String {
            var out = "parent \(parent) \(parentStart)\n"
            if let uid { out += "uid \(uid)\n" }
            switch cgroup {
            case .directory(let path): out += "cgroup \(path)\n"
            case .absent(let why): out += "nocgroup \(why.split(separator: "\n").joined(separator: " "))\n"
            case nil: break
            }
            for process in processes { out += "\(process.role) \(process.pid)\n" }
            return out
        }
    }
}

/// A VM's cgroup in its registry entry: its directory, or why it has none.
enum CgroupRecord: Equatable {
    case directory(String)
    case absent(String)
}
