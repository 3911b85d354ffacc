import NGDMath

extension DaemonConfig {
    /// Reads a configuration from TOML text (see deploy/ngd.toml). Unknown keys are errors, so a
    /// typo never silently leaves a default in place.
    /// - Throws: ``ConfigError`` naming the key (or the line, for a syntax error).
    public static func parse(toml text: String, file: String = "config") throws -> DaemonConfig {
        let root: TOMLTable
        do { root = try TOMLParser.parse(text) } catch let e as TOMLError {
            throw ConfigError(key: "", "\(file): \(e)")
        }
        var c = DaemonConfig()
        for (key, value) in root.entries {
            switch key {
            case "daemon": try c.applyDaemon(try table(value, "daemon"))
            case "models":
                for (name, m) in try table(value, "models").entries {
                    var model = ModelConfig(name: name, layers: [])
                    try model.apply(try table(m, "models.\(name)"))
                    c.models.append(model)
                }
            default: throw ConfigError(key: key, "unknown table or key (expected [daemon] or [models.NAME])")
            }
        }
        return c
    }

    mutating func applyDaemon(_ t: TOMLTable) throws {
        for (key, v) in t.entries {
            let k = "daemon.\(key)"
            switch key {
            case "input": input = try string(v, k)
            case "input_pattern": inputPattern = try choice(v, k)
            case "input_mode": inputMode = try choice(v, k)
            case "subscribe": subscribe = try choice(v, k)
            case "output": output = try string(v, k)
            case "control": control = try string(v, k)
            case "state_dir": stateDirectory = try string(v, k)
            case "checkpoint_interval": checkpointInterval = try number(v, k)
            case "stats_interval": statsInterval = try number(v, k)
            case "loss_every": lossEvery = try integer(v, k)
            case "receive_hwm": receiveHighWaterMark = try integer(v, k)
            case "send_hwm": sendHighWaterMark = try integer(v, k)
            case "max_message_size": maxMessageSize = try integer(v, k)
            case "linger_ms": lingerMilliseconds = try integer(v, k)
            default: throw ConfigError(key: k, "unknown key")
            }
        }
    }
}

extension ModelConfig {
    mutating func apply(_ t: TOMLTable) throws {
        for (key, v) in t.entries {
            let k = "models.\(name).\(key)"
            switch key {
            case "topic": topic = try string(v, k)
            case "layers":
                guard case .array(let items) = v else {
                    throw ConfigError(key: k, "must be an array of integers, e.g. [20, 20, 20]")
                }
                layers = try items.map { try integer($0, k) }
            case "activation":
                let s = try string(v, k)
                guard let a = Activation(rawValue: s) else {
                    throw ConfigError(
                        key: k,
                        "unknown activation '\(s)' (one of \(Activation.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                activation = a
            case "bias": bias = try boolean(v, k)
            case "output_noise": outputNoise = try number(v, k)
            case "optimizer": optimizer = try choice(v, k)
            case "learning_rate": learningRate = try number(v, k)
            case "batch": batch = try integer(v, k)
            case "seed":
                let s = try integer(v, k)
                guard s >= 0 else { throw ConfigError(key: k, "must be ≥ 0") }
                seed = UInt64(s)
            case "learning_rate_decay": learningRateDecay = try number(v, k)
            case "factor_rate": factorRate = try number(v, k)
            case "factor_interval": factorInterval = try integer(v, k)
            case "damping": damping = try number(v, k)
            case "min_damping": minimumDamping = try number(v, k)
            case "max_damping": maximumDamping = try number(v, k)
            default: throw ConfigError(key: k, "unknown key")
            }
        }
    }
}

private func table(_ v: TOMLValue, _ key: String) throws -> TOMLTable {
    guard case .table(let t) = v else { throw ConfigError(key: key, "must be a table, not \(v.typeName)") }
    return t
}

private func string(_ v: TOMLValue, _ key: String) throws -> String {
    guard case .string(let s) = v else { throw ConfigError(key: key, "must be a string, not \(v.typeName)") }
    return s
}

private func integer(_ v: TOMLValue, _ key: String) throws -> Int {
    guard case .integer(let n) = v else { throw ConfigError(key: key, "must be an integer, not \(v.typeName)") }
    return n
}

private func boolean(_ v: TOMLValue, _ key: String) throws -> Bool {
    guard case .bool(let b) = v else { throw ConfigError(key: key, "must be true or false, not \(v.typeName)") }
    return b
}

private func number(_ v: TOMLValue, _ key: String) throws -> Double {
    switch v {
    case .integer(let n): return Double(n)
    case .float(let d): return d
    default: throw ConfigError(key: key, "must be a number, not \(v.typeName)")
    }
}

private func choice<T: RawRepresentable & CaseIterable>(_ v: TOMLValue, _ key: String) throws -> T
where T.RawValue == String {
    let s = try string(v, key)
    guard let c = T(rawValue: s) else {
        throw ConfigError(key: key, "'\(s)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return c
}
