import HostAccess

/// bulkhead-block's `--file ro:/abs/path` / `--file rw:/abs/path` values as declarations;
/// whether a path is canonical and a real file is `DeclaredFiles`' check.
public enum FileOptions {
    public static func declarations(_ arguments: HelperArguments) throws(HelperArguments.Problem) -> [FileDeclaration] {
        var declarations: [FileDeclaration] = []
        for value in arguments["--file"] {
            guard let (access, path) = HelperArguments.split(value, at: ":"),
                let declared = FileAccess(rawValue: HelperArguments.text(access))
            else {
                throw HelperArguments.Problem(
                    "--file \(HelperArguments.quoted(value)): expected ro:/absolute/path or rw:/absolute/path")
            }
            declarations.append(FileDeclaration(path: path, access: declared))
        }
        return declarations
    }
}
