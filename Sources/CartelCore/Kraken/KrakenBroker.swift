import Foundation

/// Orders on Kraken. `TRADING_MODE=validate` sends every order signed with `validate=true`
/// (Kraken checks it, executes nothing); `live` places real market orders, which the engine then
/// reconciles with `QueryOrders`. Volumes are cut to the pair's `lot_decimals` and refused below
/// its `ordermin` before anything is sent. `AddOrder` is never retried automatically: when its
/// answer is lost (timeout, 5xx, dropped connection) the outcome is `unknown` and the order is
/// found later by its `userref` with `OpenOrders`/`ClosedOrders`.
public struct KrakenBroker<C: TimeSource>: Broker {
    public let mode: TradingMode
    let client: KrakenClient<C>
    public let pairs: KrakenPairDirectory

    public init(mode: TradingMode, client: KrakenClient<C>, pairs: KrakenPairDirectory) {
        precondition(mode != .paper, "the paper broker trades on paper")
        self.mode = mode
        self.client = client
        self.pairs = pairs
    }

    /// The pair's lot rules as Kraken states them.
    public func lotRules(for pair: String) throws -> LotRules {
        LotRules(try pairs.resolve(pair).pair)
    }

    public func execute(_ order: OrderRequest, lot: LotRules) async throws -> BrokerOutcome {
        let key: String
        let rules: LotRules
        do {
            let resolved = try pairs.resolve(order.pair)
            (key, rules) = (resolved.key, LotRules(resolved.pair))
        } catch {
            return .rejected("\(error)")
        }
        let volume = rules.roundQuantity(order.quantity)
        guard volume > 0, volume >= rules.minimumQuantity else {
            return .rejected("volume \(volume) is below \(order.pair)'s minimum order \(rules.minimumQuantity)")
        }
        let request = KrakenOrderRequest(
            pairKey: key, side: order.side == .buy ? .buy : .sell, kind: .market, volume: volume, userref: order.userref,
            validateOnly: mode != .live)
        let result: KrakenAddOrderResult
        do {
            result = try await client.addOrder(request)
        } catch let error as KrakenError where KrakenBrokerRefusals.notPlaced(error) {
            return .rejected("\(error)")
        } catch {
            // No answer, one that cannot be read, or an error Kraken may give after placing it.
            return .unknown("\(error)")
        }
        guard mode == .live else { return .validated(description: result.descr.order) }
        guard let txid = result.txid?.first else {
            return .unknown("Kraken answered without a transaction id: \(result.descr.order)")
        }
        return .accepted(exchangeOrderID: txid)
    }

    /// `QueryOrders` for the accepted orders: closed ones become fills (executed volume, average
    /// price, fee), canceled or expired ones with nothing executed end, the rest stay open.
    public func reconcile(_ exchangeOrderIDs: [String]) async throws -> [String: OrderUpdate] {
        guard !exchangeOrderIDs.isEmpty else { return [:] }
        var updates: [String: OrderUpdate] = [:]
        for (txid, order) in try await client.queryOrders(txids: exchangeOrderIDs) {
            updates[txid] = Self.update(txid: txid, order)
        }
        return updates
    }

    /// Kraken's order that is `order`: one listed under its `userref` (open orders, then closed
    /// ones since shortly before it was made) whose side and volume are the order's. A userref
    /// alone is not proof: another database or bot on the same key can use the same number.
    public func find(_ order: OrderRecord) async throws -> FoundOrder? {
        let notBefore = min(order.createdAt, order.updatedAt).addingTimeInterval(-600)
        func matches(_ candidate: KrakenOrder) -> Bool {
            candidate.volume == order.quantity && candidate.openedAt >= notBefore
                && (candidate.descr.type.map { $0 == order.side.rawValue } ?? candidate.descr.order.hasPrefix(order.side.rawValue))
        }
        let open = try await client.openOrders(userref: order.userref).filter { matches($0.value) }
        let candidates = open.isEmpty
            ? try await client.closedOrders(userref: order.userref, since: notBefore).filter { matches($0.value) } : open
        guard let (txid, found) = candidates.min(by: { $0.value.openedAt < $1.value.openedAt }) else { return nil }
        return FoundOrder(exchangeOrderID: txid, update: Self.update(txid: txid, found))
    }

    public func balances() async throws -> [String: Decimal]? {
        try await client.balance()
    }

    static func update(txid: String, _ order: KrakenOrder) -> OrderUpdate {
        switch order.status {
        case "closed", "canceled", "expired":
            guard order.volumeExecuted > 0 else {
                return .ended("Kraken reports the order \(order.status) with nothing executed")
            }
            return .filled(Fill(
                quantity: order.volumeExecuted, price: order.averagePrice, fee: order.fee, time: order.closedAt ?? order.openedAt,
                tradeID: txid, cost: order.cost > 0 ? order.cost : nil))
        default:
            return .open
        }
    }
}

/// Which `AddOrder` errors prove Kraken did not place the order.
public enum KrakenBrokerRefusals {
    /// Kraken refused the order (`EOrder:*`, invalid arguments) or the request (key, signature,
    /// permission, nonce, rate limit, lockout, unknown pair, an HTTP 4xx), or the request never
    /// left (open circuit breaker). Anything else — timeouts, 5xx, `EService:*`, an error code
    /// not known here — may follow a placement, so its outcome is unknown.
    public static func notPlaced(_ error: KrakenError) -> Bool {
        if error.kind == .orderRejected { return true }
        let refusals = [
            "EOrder:", "EGeneral:Invalid arguments", "EAPI:Invalid key", "EAPI:Invalid signature", "EAPI:Invalid nonce",
            "EAPI:Rate limit", "EGeneral:Permission denied", "EGeneral:Temporary lockout", "EQuery:Unknown asset pair",
        ]
        return refusals.contains { error.message.hasPrefix($0) } || error.message.contains("circuit breaker")
            || error.message.range(of: #"^AddOrder: HTTP 4\d\d"#, options: .regularExpression) != nil
    }
}
