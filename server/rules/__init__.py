"""Trigger rules' adapters: the rule store, contexts from the store, the live service, delivery and the inbox.

The rules themselves are evaluated by the pure engine in :mod:`server.domain.rules.engine`; this package only
translates (store rows and live signals in, decisions out), persists and delivers. Start with
:class:`server.rules.service.RuleService`.
"""
