/// Encoders for the daemon's output payloads (docs/protocol.md). Topics are `<kind>.<model>`.
public enum OutputMessages {
    /// The topic of a `kind` message about `model` (`error.` when no model can be told).
    public static func topic(_ kind: String, model: String?) -> String { "\(kind).\(model ?? "")" }

    static func writeID(_ id: MessageID, into w: inout JSONWriter) {
        w.key("id")
        switch id {
        case .none: w.null()
        case .json(let v): w.value(v)
        case .u64(let n): w.value(n)
        }
    }

    /// The `prediction.<model>` payload, in the request's encoding. `yHat` is `count × width`.
    /// `seq` is the model's count of learned samples after this message.
    public static func prediction(
        model: String,
        seq: Int,
        request: SampleMessage,
        yHat: [Double],
        width: Int
    ) -> [UInt8] {
        switch request.encoding {
        case .ngd1(let dtype):
            var id: UInt64 = 0
            if case .u64(let n) = request.id { id = n }
            return NGD1.encode(
                dtype: dtype,
                count: request.count,
                inputWidth: 0,
                outputWidth: width,
                id: id,
                x: [],
                y: yHat,
                prediction: true
            )
        case .json:
            var w = JSONWriter()
            w.beginObject()
            w.key("model")
            w.value(model)
            w.key("seq")
            w.value(seq)
            writeID(request.id, into: &w)
            w.key("y_hat")
            if request.isBatch {
                w.beginArray()
                for r in 0..<request.count { w.value(doubles: yHat[(r * width)..<((r + 1) * width)]) }
                w.endArray()
            } else {
                w.value(doubles: yHat)
            }
            w.endObject()
            return w.bytes
        }
    }

    /// The `loss.<model>` payload: `n` samples, their `mse` and `loss` before the update, the
    /// running `loss_ema`, and the model's total `samples` seen (learned or not).
    public static func loss(
        model: String,
        seq: Int,
        id: MessageID,
        count: Int,
        mse: Double,
        loss: Double,
        lossEMA: Double,
        samples: Int
    ) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("model")
        w.value(model)
        w.key("seq")
        w.value(seq)
        writeID(id, into: &w)
        w.key("n")
        w.value(count)
        w.key("mse")
        w.value(mse)
        w.key("loss")
        w.value(loss)
        w.key("loss_ema")
        w.value(lossEMA)
        w.key("samples")
        w.value(samples)
        w.endObject()
        return w.bytes
    }

    /// The `error.<model>` payload; `model` nil when no model can be told.
    public static func error(model: String?, id: MessageID, reason: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("model")
        if let model { w.value(model) } else { w.null() }
        writeID(id, into: &w)
        w.key("reason")
        w.value(reason)
        w.endObject()
        return w.bytes
    }
}
