"""Salesforce sync: connection, mapping, transactional outbox, worker, post-event flow and a local emulator.

The pieces, in the order a change travels:

* :mod:`server.crm.outbox` — ``enqueue_crm_change`` writes "attendee X changed" in the caller's transaction;
* :mod:`server.crm.facts` — the worker loads what Touchpoints knows about those attendees, in bulk;
* :mod:`server.crm.mapping` — pure: facts -> Salesforce records (Lead or Contact, CampaignMember, Tasks);
* :mod:`server.crm.sender` — writes records with sObject Collections (<= 200 a call) or Bulk API 2.0;
* :mod:`server.crm.worker` — drains the outbox: coalesces, retries, pauses, parks, keeps sync state;
* :mod:`server.crm.connection` — token flows against a configurable login URL, the simple-salesforce client.
"""
