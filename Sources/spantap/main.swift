SpanTapCLI.main(SpanTapCLI.hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
