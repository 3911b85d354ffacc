import NGDMath
import NGDSystem

/// The process entry: fixes OpenBLAS's kernel choice and thread count first (they can only be
/// set before the library loads, hence a re-exec), then runs the command line.
@main enum Entry {
    static func main() async {
        BLASCore.reexecutingIfNeeded()
        await NGDCommand.main()
    }
}
