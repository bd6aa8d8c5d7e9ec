import Foundation

/// Orders on Kraken. `TRADING_MODE=validate` sends every order signed with `validate=true`
/// (Kraken checks it, executes nothing); `live` places real market orders, which the engine then
/// reconciles with `QueryOrders`. Volumes are cut to the pair's `lot_decimals` and refused below
/// its `ordermin` before anything is sent. `AddOrder` is never retried automatically.
public struct KrakenBroker<C: Clock>: Broker where C.Duration == Duration {
    public let mode: TradingMode
    let client: KrakenClient<C>
    let pairs: KrakenPairDirectory

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
        } catch let error as KrakenError where error.kind == .orderRejected {
            return .rejected("\(error)")
        }
        guard mode == .live else { return .validated(description: result.descr.order) }
        guard let txid = result.txid?.first else { return .rejected("Kraken answered without a transaction id: \(result.descr.order)") }
        return .accepted(exchangeOrderID: txid)
    }

    /// `QueryOrders` for the accepted orders: closed ones become fills (executed volume, average
    /// price, fee), canceled or expired ones with nothing executed end, the rest stay open.
    public func reconcile(_ exchangeOrderIDs: [String]) async throws -> [String: OrderUpdate] {
        guard !exchangeOrderIDs.isEmpty else { return [:] }
        var updates: [String: OrderUpdate] = [:]
        for (txid, order) in try await client.queryOrders(txids: exchangeOrderIDs) {
            switch order.status {
            case "closed", "canceled", "expired":
                if order.volumeExecuted > 0 {
                    updates[txid] = .filled(Fill(
                        quantity: order.volumeExecuted, price: order.averagePrice, fee: order.fee,
                        time: order.closedAt ?? order.openedAt, tradeID: txid))
                } else {
                    updates[txid] = .ended("Kraken reports the order \(order.status) with nothing executed")
                }
            default:
                updates[txid] = .open
            }
        }
        return updates
    }
}
