import Foundation

public struct CommandFailure: Error, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let output: String

    public init(command: [String], status: Int32, output: String) {
        self.command = command
        self.status = status
        self.output = output
    }

    public var description: String {
        "`\(command.joined(separator: " "))` exited \(status): \(output)"
    }
}

/// Runs a system tool (ip, tcpdump, ...) and returns its combined output; throws on non-zero exit.
@discardableResult
public func run(_ arguments: String...) throws -> String {
    try run(arguments)
}

@discardableResult
public func run(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw CommandFailure(command: arguments, status: process.terminationStatus, output: output)
    }
    return output
}
