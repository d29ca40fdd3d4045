/*
 * test_bounce_class.c -- lib/mail/bounce_class.c on a table of failures
 * (status, code, diagnostic text, action -> reason, bounceType), grouped
 * by the provider or MTA whose documented reply format each text follows
 * (written here from their public error-code pages and the RFCs; the
 * addresses and hosts are example ones).  Then the extractor of code and
 * status, the vocabulary's names, and the edge cases: nothing known,
 * huge and hostile text, contradicting status and text, 4xx with
 * permanent words.
 */
#include "unit.h"

#include <string.h>

#include "bounce_class.h"

typedef struct {
    const char *name;
    const char *status;
    int code;
    const char *text;
    const char *action;
    bounce_reason_t reason;
    bounce_type_t type;
} bc_row_t;

#define P BOUNCE_TYPE_PERMANENT
#define T BOUNCE_TYPE_TRANSIENT
#define U BOUNCE_TYPE_UNDETERMINED
#define R(name, st, code, text, act, reason, type) { name, st, code, text, act, BOUNCE_##reason, type }
#define F "failed"
#define D "delayed"
#define X "expired"

static const bc_row_t rows[] = {
    /* ---- Gmail / Google Workspace (support.google.com/a/answer/3726730) ---- */
    R("gmail 5.1.1 no such user", "5.1.1", 550,
      "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the "
      "recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser "
      "a1si123.45 - gsmtp", F, USER_UNKNOWN, P),
    R("gmail 5.2.1 disabled", "5.2.1", 550,
      "550-5.2.1 The email account that you tried to reach is disabled. Learn more at "
      "https://support.google.com/mail/?p=DisabledUser x1si - gsmtp", F, MAILBOX_DISABLED, T),
    R("gmail 4.2.1 too quickly", "4.2.1", 450,
      "450-4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a "
      "later time. - gsmtp", D, RATE_LIMITED, T),
    R("gmail 4.2.1 at a rate", "4.2.1", 450,
      "450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages "
      "from being delivered. - gsmtp", D, RATE_LIMITED, T),
    R("gmail 4.2.1 peak relay limit", "4.2.1", 450,
      "450-4.2.1 Peak SMTP relay limit exceeded for customer. This is a temporary error. - gsmtp", D,
      QUOTA_EXCEEDED, T),
    R("gmail 5.2.2 over quota", "5.2.2", 552,
      "552-5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to "
      "https://support.google.com/mail/?p=OverQuotaPerm - gsmtp", F, MAILBOX_FULL, T),
    R("gmail 4.2.2 over quota", "4.2.2", 452,
      "452-4.2.2 The email account that you tried to reach is over quota. - gsmtp", D, MAILBOX_FULL, T),
    R("gmail 5.2.2 larger or full", "5.2.2", 552,
      "552-5.2.2 This message is larger than the current system limit or the recipient's mailbox is full. Create a "
      "shorter message body or remove attachments and try sending it again. - gsmtp", F, MAILBOX_FULL, T),
    R("gmail 5.3.4 size", "5.3.4", 552,
      "552-5.3.4 Your message exceeded Google's message size limits. Please visit "
      "https://support.google.com/mail/?p=MaxSizeError to view our size guidelines. - gsmtp", F, MESSAGE_TOO_BIG, T),
    R("gmail 5.7.26 unauthenticated", "5.7.26", 550,
      "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to "
      "authenticate with either SPF or DKIM. Authentication results: DKIM = did not pass SPF [example.com] with ip: "
      "[192.0.2.1] = did not pass - gsmtp", F, AUTH_FAILURE, T),
    R("gmail 5.7.26 dmarc", "5.7.26", 550,
      "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy. Please contact "
      "the administrator of example.com domain. - gsmtp", F, AUTH_FAILURE, T),
    R("gmail 5.7.27 spf hard fail", "5.7.27", 550,
      "550-5.7.27 This message does not pass authentication checks (SPF and DKIM both do not pass). - gsmtp", F,
      AUTH_FAILURE, T),
    R("gmail 5.7.25 ptr", "5.7.25", 550,
      "550-5.7.25 [192.0.2.1] The IP address sending this message does not have a PTR record setup, or the "
      "corresponding forward DNS entry does not point to the sending IP. - gsmtp", F, NO_PTR, T),
    R("gmail 5.7.1 ipv6 ptr", "5.7.1", 550,
      "550-5.7.1 [2001:db8::1] This message does not meet IPv6 sending guidelines regarding PTR records and "
      "authentication. - gsmtp", F, NO_PTR, T),
    R("gmail 5.7.1 likely unsolicited", "5.7.1", 550,
      "550-5.7.1 [192.0.2.1] Our system has detected that this message is likely unsolicited mail. To reduce the "
      "amount of spam sent to Gmail, this message has been blocked. - gsmtp", F, CONTENT_REJECTED, T),
    R("gmail 5.7.1 low reputation", "5.7.1", 550,
      "550-5.7.1 Our system has detected that this message is suspicious due to the very low reputation of the "
      "sending IP address. - gsmtp", F, BLOCKED, T),
    R("gmail 5.7.1 not authorized directly", "5.7.1", 550,
      "550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to send email directly to our "
      "servers. Please use the SMTP relay at your service provider instead. - gsmtp", F, BLOCKED, T),
    R("gmail 4.7.0 unusual rate blocked", "4.7.0", 421,
      "421-4.7.0 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail originating from your IP "
      "address. To protect our users from spam, mail sent from your IP address has been temporarily blocked. - gsmtp",
      D, BLOCKED, T),
    R("gmail 4.7.28 rate limited dkim domain", "4.7.28", 421,
      "421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your DKIM domain "
      "[example.com]. To protect our users from spam, mail sent from your domain has been temporarily rate limited. - gsmtp",
      D, RATE_LIMITED, T),
    R("gmail 4.7.0 tls required", "4.7.0", 421, "421-4.7.0 TLS required for RCPT domain, closing connection. - gsmtp",
      D, TLS_REQUIRED, T),
    R("gmail 4.7.0 whitelist", "4.7.0", 421, "421-4.7.0 IP not in whitelist for RCPT domain, closing connection. - gsmtp",
      D, POLICY_VIOLATION, T),
    R("gmail 5.7.1 gcdp policy", "5.7.1", 550,
      "550 5.7.1 This message violates example.com email policy. - gcdp a1b2c3 - gsmtp", F, POLICY_VIOLATION, T),
    R("gmail 5.7.1 from header", "5.7.1", 550,
      "550-5.7.1 [192.0.2.1] Messages missing a valid address in From: header, or having no From: header, are not "
      "accepted. - gsmtp", F, CONTENT_REJECTED, T),
    R("gmail 5.7.0 content security", "5.7.0", 552,
      "552-5.7.0 This message was blocked because its content presents a potential security issue. - gsmtp", F,
      CONTENT_REJECTED, T),
    R("gmail 5.4.5 daily sending limit", "5.4.5", 550, "550 5.4.5 Daily user sending limit exceeded. - gsmtp", F,
      QUOTA_EXCEEDED, T),
    R("gmail 5.6.0 hops", "5.6.0", 554,
      "554-5.6.0 Message exceeded 50 hops, this may indicate a mail loop. - gsmtp", F, SYSTEM_ERROR, T),
    R("gmail 4.3.0 temporary system problem", "4.3.0", 421, "421-4.3.0 Temporary System Problem. Try again later. - gsmtp",
      D, SYSTEM_ERROR, T),
    R("gmail 4.4.5 server busy", "4.4.5", 421, "421-4.4.5 Server busy, try again later. - gsmtp", D, SYSTEM_ERROR, T),
    R("gmail 4.4.2 timeout", "4.4.2", 421, "421-4.4.2 Timeout - closing connection. - gsmtp", D, NETWORK_ERROR, T),
    R("gmail 5.5.2 syntax", "5.5.2", 555, "555-5.5.2 Syntax error. - gsmtp", F, SYNTAX_ERROR, T),
    R("gmail 4.5.3 too many recipients", "4.5.3", 452,
      "452-4.5.3 Your message has too many recipients. For more information regarding Google's sending limits - gsmtp",
      D, QUOTA_EXCEEDED, T),
    R("gmail text bounce address not found", NULL, 0,
      "Address not found. Your message wasn't delivered to bob@example.com because the address couldn't be found, or "
      "is unable to receive mail. The response from the remote server was: 550 5.1.1 <bob@example.com>: Recipient "
      "address rejected: User unknown in virtual mailbox table", NULL, USER_UNKNOWN, P),
    R("gmail text bounce domain not found", NULL, 0,
      "Address not found. Your message wasn't delivered to bob@nodomain.example because the domain "
      "nodomain.example couldn't be found. Check for typos or unnecessary spaces and try again. DNS Error: "
      "DNS type 'mx' lookup of nodomain.example responded with code NXDOMAIN", NULL, HOST_UNKNOWN, P),

    /* ---- Outlook.com / Exchange Online (learn.microsoft.com NDR pages) ---- */
    R("eop 5.7.708 ip", "5.7.708", 550,
      "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please "
      "go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7171)", F, BLOCKED, T),
    R("eop 5.7.708 status only words", "5.7.708", 550, "550 5.7.708 Service unavailable.", F, BLOCKED, T),
    R("eop 5.7.1 spamhaus", "5.7.1", 550,
      "550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using Spamhaus. To request removal from this "
      "list see https://www.spamhaus.org/query/ip/192.0.2.1 (AS16012611)", F, BLOCKED, T),
    R("eop 5.7.1 helo spamhaus", "5.7.1", 550,
      "550 5.7.1 Service unavailable, Helo domain is listed in Spamhaus. (S8001)", F, BLOCKED, T),
    R("eop 5.4.1 dbeb access denied", "5.4.1", 550,
      "550 5.4.1 Recipient address rejected: Access denied. For more information see "
      "https://aka.ms/EXOSmtpErrors AS(201806281) [AM2PEPF0001C70A.eurprd05.prod.outlook.com]", F, USER_UNKNOWN, P),
    R("eop 5.7.606 banned ip", "5.7.606", 550,
      "550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit "
      "https://sender.office.com/ and follow the directions.", F, BLOCKED, T),
    R("eop 5.7.705 tenant threshold", "5.7.705", 550, "550 5.7.705 Access denied, tenant has exceeded threshold.", F,
      BLOCKED, T),
    R("eop 5.7.703 tenant block list", "5.7.703", 550,
      "550 5.7.703 Your message can't be delivered because messages to bob@example.com are blocked by your "
      "organization using Tenant Allow Block List.", F, POLICY_VIOLATION, T),
    R("eop 5.7.703 status only", "5.7.703", 550, NULL, F, POLICY_VIOLATION, T),
    R("eop 5.7.750 unregistered", "5.7.750", 550,
      "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains.", F, BLOCKED, T),
    R("eop 4.7.650 rate limited reputation", "4.7.650", 451,
      "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.", D,
      RATE_LIMITED, T),
    R("eop 4.7.500 server busy", "4.7.500", 451,
      "451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (AS77712344)", D, BLOCKED, T),
    R("eop 4.3.2 concurrent", "4.3.2", 421,
      "421 4.3.2 The maximum number of concurrent connections per resource forest has exceeded a limit, closing "
      "transmission channel. PRX8", D, RATE_LIMITED, T),
    R("eop 4.4.62 wrong region", "4.4.62", 451,
      "451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35.", D, SYSTEM_ERROR, T),
    R("exo 5.1.10 recipient not found", "5.1.10", 550,
      "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient bob@example.com not found by SMTP address lookup", F,
      USER_UNKNOWN, P),
    R("exo 5.1.1 recipnotfound", "5.1.1", 550, "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", F, USER_UNKNOWN, P),
    R("exo 5.2.2 storedrv quota", "5.2.2", 554,
      "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", F,
      MAILBOX_FULL, T),
    R("exo 5.7.509 dmarc", "5.7.509", 550,
      "550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification and has a DMARC policy "
      "of reject.", F, AUTH_FAILURE, T),
    R("outlook 5.7.515 auth level", "5.7.515", 550,
      "550 5.7.515 Access denied, sending domain example.com doesn't meet the required authentication level.", F,
      AUTH_FAILURE, T),
    R("exo 5.7.512 rfc5322", "5.7.512", 550,
      "550 5.7.512 Access denied, message must be RFC 5322 section 3.6.2 compliant and include a valid From address.",
      F, CONTENT_REJECTED, T),
    R("exo 5.7.350 spam", "5.7.350", 550, "550 5.7.350 Remote server returned message detected as spam", F,
      CONTENT_REJECTED, T),
    R("exo 5.7.129 restricted", "5.7.129", 550,
      "550 5.7.129 RESOLVER.RST.RestrictedToRecipientsPermission; not authorized to send to this recipient", F,
      POLICY_VIOLATION, T),
    R("exo 5.7.133 group", "5.7.133", 550,
      "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery restriction check "
      "failed because the sender was not authenticated when sending to this group", F, POLICY_VIOLATION, T),
    R("exo 5.7.54 unable to relay", "5.7.54", 550,
      "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", F, RELAYING_DENIED, T),
    R("exo 5.7.64 tenant attribution", "5.7.64", 550, "550 5.7.64 TenantAttribution; Relay Access Denied", F,
      RELAYING_DENIED, T),
    R("exo 5.7.57 anonymous", "5.7.57", 530,
      "530 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful", F,
      RELAYING_DENIED, T),
    R("exo 5.4.300 expired", "5.4.300", 550, "550 5.4.300 Message expired", F, EXPIRED, T),
    R("exo 5.4.316 expired connection refused", "5.4.316", 550,
      "550 5.4.316 Message expired, connection refused(Socket error code 10061)", F, EXPIRED, T),
    R("exo 5.4.4 nonexistent domain", "5.4.4", 550, "550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain", F,
      HOST_UNKNOWN, P),
    R("exo 5.4.14 hop count", "5.4.14", 554, "554 5.4.14 Hop count exceeded - possible mail loop ATTR34", F,
      SYSTEM_ERROR, T),
    R("exo 5.3.4 size", "5.3.4", 552, "552 5.3.4 Message size exceeds fixed maximum message size", F, MESSAGE_TOO_BIG, T),
    R("exo 5.2.3 recipsizelimit", "5.2.3", 550, "550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient",
      F, MESSAGE_TOO_BIG, T),
    R("exo 5.6.211 mime", "5.6.211", 554, "554 5.6.211 Invalid MIME Content: Single text value size exceeded", F,
      CONTENT_REJECTED, T),
    R("hotmail s3150 block list", "5.7.1", 550,
      "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider "
      "since part of their network is on our block list (S3150).", F, BLOCKED, T),
    R("hotmail sc-001", NULL, 550,
      "550 SC-001 (BAY0-MC1-F41) Unfortunately, messages from 192.0.2.1 weren't sent. Please contact your Internet "
      "service provider. You can tell them that Hotmail does not relay dynamically-assigned IP ranges.", F, BLOCKED, T),
    R("outlook.com 5.5.0 mailbox unavailable", "5.5.0", 550,
      "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [DM6NAM04FT015.eop-NAM04.prod.protection.outlook.com]",
      F, USER_UNKNOWN, P),

    /* ---- Exchange on-premises 2003 / 2010 NDRs (text bounces) ---- */
    R("exchange 2003 5.1.1 unknown", "5.1.1", 0,
      "The e-mail account does not exist at the organization this message was sent to. Check the e-mail address, or "
      "contact the recipient directly to find out the correct address. <mail.example.com #5.1.1>", F, USER_UNKNOWN, P),
    R("exchange 2003 5.2.2 quota", NULL, 0,
      "The recipient's mailbox is full and can't accept messages now. Please try resending this message later, or "
      "contact the recipient directly. <mail.example.com #5.2.2>", F, MAILBOX_FULL, T),
    R("exchange 2003 5.4.0 dns", NULL, 0,
      "There was a temporary problem delivering your message. The following organization rejected your message: "
      "mail.example.com. <mail.example.com #5.4.0>", F, NETWORK_ERROR, T),
    R("exchange 2010 5.1.1 not found", "5.1.1", 0,
      "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", F, USER_UNKNOWN, P),
    R("exchange 2010 4.4.7 expired", "4.4.7", 0,
      "#< #4.4.7 smtp;550 4.4.7 QUEUE.Expired; message expired> #SMTP#", F, EXPIRED, T),
    R("exchange 5.7.1 client does not have permissions", "5.7.1", 550,
      "550 5.7.1 Client does not have permissions to send as this sender", F, POLICY_VIOLATION, T),

    /* ---- Yahoo / AOL (senders.yahooinc.com/smtp-error-codes, help.yahoo.com) ---- */
    R("yahoo tss04", "4.7.0", 421,
      "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - "
      "4.16.55.1; see https://postmaster.yahooinc.com/error-codes", D, BLOCKED, T),
    R("yahoo ts03 permanently deferred", "4.7.1", 421,
      "421 4.7.1 [TS03] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed. See "
      "https://postmaster.yahooinc.com/error-codes", D, BLOCKED, T),
    R("yahoo bl21 spamhaus", "5.7.1", 553,
      "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list; see "
      "https://postmaster.yahooinc.com/error-codes", F, BLOCKED, T),
    R("yahoo bl23", "5.7.1", 553,
      "553 5.7.1 [BL23] Connections not accepted from IP addresses on Spamhaus XBL; see "
      "https://postmaster.yahooinc.com/error-codes", F, BLOCKED, T),
    R("yahoo 5.7.9 policy", "5.7.9", 554,
      "554 5.7.9 Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes", F,
      POLICY_VIOLATION, T),
    R("yahoo dd no account", NULL, 554,
      "554 delivery error: dd This user doesn't have a yahoo.com account (bob@yahoo.com) [0] - mta1234.mail.example.yahoo.com",
      F, USER_UNKNOWN, P),
    R("yahoo dd over quota", NULL, 554,
      "554 delivery error: dd Sorry, your message to bob@yahoo.com cannot be delivered. This account is over quota. "
      "[#102] - mta1234.mail.example.yahoo.com", F, MAILBOX_FULL, T),
    R("yahoo dd disabled discontinued", NULL, 554,
      "554 delivery error: dd Sorry your message to bob@yahoo.com cannot be delivered. This account has been "
      "disabled or discontinued [#102]. - mta1234.mail.example.yahoo.com", F, MAILBOX_DISABLED, T),
    R("yahoo 554 30 mailbox disabled", NULL, 554,
      "554 30 Sorry, your message to bob@yahoo.com cannot be delivered. This mailbox is disabled (554.30)", F,
      MAILBOX_DISABLED, T),
    R("yahoo 552 1 mailbox not found", NULL, 552, "552 1 Requested mail action aborted, mailbox not found", F,
      USER_UNKNOWN, P),
    R("yahoo 451 resources", NULL, 451,
      "451 mta1234.mail.example.yahoo.com Resources temporarily unavailable. Please try again later [#4.16.1].", D,
      SYSTEM_ERROR, T),
    R("yahoo vs1-ip open relay", NULL, 451,
      "451 VS1-IP Excessive unknown recipients - possible Open Relay (#4.1.8)", D, BLOCKED, T),
    R("yahoo 421 4.16.50 deferred", NULL, 421,
      "421 Message from (192.0.2.1) temporarily deferred - 4.16.50. Please refer to "
      "https://postmaster.yahooinc.com/error-codes", D, BLOCKED, T),
    R("yahoo 450 too quickly", NULL, 450, "450 User is receiving mail too quickly", D, RATE_LIMITED, T),
    R("yahoo 421 max message per connection", NULL, 421,
      "421 Max message per connection reached, closing transmission channel", D, QUOTA_EXCEEDED, T),
    R("aol mailbox not found", NULL, 550, "550 MAILBOX NOT FOUND", F, USER_UNKNOWN, P),
    R("aol 5.2.2 mailbox full", "5.2.2", 552, "552 5.2.2 Mailbox full", F, MAILBOX_FULL, T),
    R("aol rly:b1", NULL, 554,
      "554- (RLY:B1) The information presently available to AOL indicates this server is transmitting unsolicited e-mail",
      F, BLOCKED, T),
    R("aol dyn:t1", NULL, 421, "421 DYN:T1 http://postmaster.info.aol.com/errors/421dynt1.html", D, BLOCKED, T),

    /* ---- iCloud / Apple (support.apple.com/en-us/HT204137, postmaster) ---- */
    R("icloud 5.1.1 user does not exist", "5.1.1", 550, "550 5.1.1 <bob@icloud.com>: user does not exist", F,
      USER_UNKNOWN, P),
    R("icloud 5.1.1 inactive", "5.1.1", 550, "550 5.1.1 <bob@icloud.com>: inactive email address", F,
      MAILBOX_DISABLED, T),
    R("icloud cs01 local policy", "5.7.1", 550,
      "550 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
      F, POLICY_VIOLATION, T),
    R("icloud hm08 local policy", "5.7.1", 554,
      "554 5.7.1 [HM08] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
      F, POLICY_VIOLATION, T),
    R("icloud dmarc", "5.7.1", 550, "550 5.7.1 Your message was rejected due to example.com's DMARC policy.", F,
      AUTH_FAILURE, T),
    R("icloud spamhaus dbl", "5.7.1", 550,
      "550 5.7.1 Your email was rejected due to having a domain present in the Spamhaus DBL -- see "
      "https://www.spamhaus.org/dbl/", F, BLOCKED, T),
    R("icloud excessive volume", "4.7.1", 421,
      "421 4.7.1 Messages to bob@icloud.com deferred due to excessive volume. Try again later - "
      "https://support.apple.com/en-us/HT204137", D, RATE_LIMITED, T),
    R("icloud 451 service unavailable", "4.7.1", 451, "451 4.7.1 Service unavailable - try again later", D,
      SYSTEM_ERROR, T),
    R("icloud 552 mailbox full", "5.2.2", 552, "552 5.2.2 <bob@icloud.com>: user is over quota", F, MAILBOX_FULL, T),

    /* ---- Proofpoint (ipcheck.proofpoint.com, Proofpoint Essentials docs) ---- */
    R("proofpoint 5.7.0 blocked ipcheck", "5.7.0", 554,
      "554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1", F, BLOCKED, T),
    R("proofpoint 5.1.0 sender rejected", "5.1.0", 550,
      "550 5.1.0 Sender rejected - see https://ipcheck.proofpoint.com/", F, SENDER_REJECTED, T),
    R("proofpoint 5.7.1 pdr", "5.7.1", 554,
      "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using Proofpoint Dynamic Reputation", F,
      BLOCKED, T),
    R("proofpoint 4.7.1 delayed reputation", "4.7.1", 451,
      "451 4.7.1 Delayed - see https://ipcheck.proofpoint.com/?ip=192.0.2.1", D, BLOCKED, T),
    R("proofpoint 5.1.1 user unknown", "5.1.1", 550, "550 5.1.1 User Unknown", F, USER_UNKNOWN, P),
    R("proofpoint message rejected spam", "5.7.1", 550, "550 5.7.1 Message blocked due to spam content", F,
      CONTENT_REJECTED, T),
    R("proofpoint 5.7.1 virus", "5.7.1", 554, "554 5.7.1 Message rejected: infected with a virus (Eicar-Test-Signature)",
      F, VIRUS, T),

    /* ---- Mimecast (Mimecast SMTP error codes knowledge base) ---- */
    R("mimecast invalid recipient", NULL, 550,
      "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550", F, USER_UNKNOWN, P),
    R("mimecast anti-spoofing", NULL, 550,
      "550 Rejected by header based Anti-Spoofing policy: bob@example.com - https://community.mimecast.com/docs/DOC-1369#550",
      F, AUTH_FAILURE, T),
    R("mimecast blocked senders", NULL, 550,
      "550 Rejected by header based Blocked Senders - Block policy for Header From - "
      "https://community.mimecast.com/docs/DOC-1369#550", F, POLICY_VIOLATION, T),
    R("mimecast security policies", NULL, 554,
      "554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554", F,
      POLICY_VIOLATION, T),
    R("mimecast administrative prohibition", NULL, 550,
      "550 Administrative prohibition - envelope blocked - https://community.mimecast.com/docs/DOC-1369#550", F,
      POLICY_VIOLATION, T),
    R("mimecast greylisting", NULL, 451,
      "451 Internal resource temporarily unavailable - https://community.mimecast.com/docs/DOC-1369#451", D,
      SYSTEM_ERROR, T),
    R("mimecast sender address blocked", NULL, 421, "421 Sender address blocked", D, BLOCKED, T),
    R("mimecast message too large", NULL, 554, "554 Maximum email size exceeded", F, MESSAGE_TOO_BIG, T),
    R("mimecast size exceeds", NULL, 554, "554 Message size exceeds the maximum permitted", F, MESSAGE_TOO_BIG, T),
    R("mimecast spam signature", NULL, 554,
      "554 Email rejected due to spam signature detected - https://community.mimecast.com/docs/DOC-1369#554", F,
      CONTENT_REJECTED, T),
    R("mimecast virus signature", NULL, 554,
      "554 Email rejected due to virus signature detected - https://community.mimecast.com/docs/DOC-1369#554", F,
      VIRUS, T),

    /* ---- Barracuda (Barracuda Email Security docs, BRBL) ---- */
    R("barracuda brbl", NULL, 554,
      "554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation; "
      "http://www.barracudanetworks.com/reputation/?r=1&ip=192.0.2.1", F, BLOCKED, T),
    R("barracuda cuda_nsu", "5.1.1", 550,
      "550 cuda_nsu 5.1.1 <bob@example.com>: Recipient address rejected: User unknown", F, USER_UNKNOWN, P),
    R("barracuda permanent failure blocked", NULL, 550,
      "550 permanent failure for one or more recipients (bob@example.com:blocked)", F, BLOCKED, T),
    R("barracuda no such user", NULL, 550, "550 No such user (bob@example.com)", F, USER_UNKNOWN, P),
    R("barracuda spoofed", NULL, 550, "550 rejecting spoofed message", F, AUTH_FAILURE, T),
    R("barracuda blocked", NULL, 550, "550 Blocked", F, BLOCKED, T),
    R("barracuda message content rejected", NULL, 554, "554 Message content rejected", F, CONTENT_REJECTED, T),

    /* ---- Cisco IronPort / Secure Email ---- */
    R("ironport sbrs", "5.7.1", 554,
      "554 5.7.1 Your access to this mail system has been rejected due to the sending MTA's poor reputation. If you "
      "believe that this failure is in error, please contact the intended recipient via alternate means.", F, BLOCKED, T),
    R("ironport mail refused", NULL, 554, "554 Message refused", F, POLICY_VIOLATION, T),
    R("ironport senderbase", NULL, 554,
      "554 Message rejected, see http://www.senderbase.org/ for details", F, BLOCKED, T),
    R("ironport 5.7.1 dlp", "5.7.1", 550, "550 5.7.1 Delivery not authorized, message refused", F, POLICY_VIOLATION, T),

    /* ---- Postfix (its own log texts and smtpd replies, postconf(5)) ---- */
    R("postfix local recipient table", "5.1.1", 550,
      "host mx.example.com[192.0.2.10] said: 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown "
      "in local recipient table (in reply to RCPT TO command)", F, USER_UNKNOWN, P),
    R("postfix virtual alias table", "5.1.1", 550,
      "host mx.example.com[192.0.2.10] said: 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown "
      "in virtual alias table (in reply to RCPT TO command)", F, USER_UNKNOWN, P),
    R("postfix relay access denied", "5.7.1", 554,
      "host mx.example.com[192.0.2.10] said: 554 5.7.1 <bob@example.net>: Relay access denied (in reply to RCPT TO "
      "command)", F, RELAYING_DENIED, T),
    R("postfix client host rejected rbl", "5.7.1", 554,
      "host mx.example.com[192.0.2.10] said: 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
      "zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1 (in reply to RCPT TO command)", F, BLOCKED, T),
    R("postfix cannot find your hostname", "4.7.1", 450,
      "host mx.example.com[192.0.2.10] said: 450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1] "
      "(in reply to RCPT TO command)", D, NO_PTR, T),
    R("postfix cannot find your reverse hostname", "5.7.1", 550,
      "host mx.example.com[192.0.2.10] said: 550 5.7.1 Client host rejected: cannot find your reverse hostname, "
      "[192.0.2.1] (in reply to RCPT TO command)", F, NO_PTR, T),
    R("postfix client host rejected access denied", "5.7.1", 554,
      "host mx.example.com[192.0.2.10] said: 554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied (in "
      "reply to RCPT TO command)", F, BLOCKED, T),
    R("postfix sender domain not found", "5.1.8", 450,
      "host mx.example.com[192.0.2.10] said: 450 4.1.8 <a@sender.example>: Sender address rejected: Domain not found "
      "(in reply to RCPT TO command)", D, SENDER_REJECTED, T),
    R("postfix recipient domain not found", "4.1.2", 450,
      "host mx.example.com[192.0.2.10] said: 450 4.1.2 <bob@nodomain.example>: Recipient address rejected: Domain not "
      "found (in reply to RCPT TO command)", D, HOST_UNKNOWN, T),
    R("postfix helo rejected", "5.7.1", 504,
      "host mx.example.com[192.0.2.10] said: 504 5.5.2 <localhost>: Helo command rejected: need fully-qualified "
      "hostname (in reply to RCPT TO command)", F, POLICY_VIOLATION, T),
    R("postfix nxdomain bounce", "5.4.4", 0,
      "Host or domain name not found. Name service error for name=nodomain.example type=A: Host not found", F,
      HOST_UNKNOWN, P),
    R("postfix dns try again deferred", "4.4.3", 0,
      "Host or domain name not found. Name service error for name=example.com type=MX: Host not found, try again", D,
      NETWORK_ERROR, T),
    R("postfix connection refused", "4.4.1", 0,
      "connect to mx.example.com[192.0.2.10]:25: Connection refused", D, NETWORK_ERROR, T),
    R("postfix connection timed out", "4.4.1", 0,
      "connect to mx.example.com[192.0.2.10]:25: Connection timed out", D, NETWORK_ERROR, T),
    R("postfix lost connection", "4.4.2", 0,
      "lost connection with mx.example.com[192.0.2.10] while receiving the initial server greeting", D,
      NETWORK_ERROR, T),
    R("postfix conversation timed out", "4.4.2", 0,
      "conversation with mx.example.com[192.0.2.10] timed out while sending end of data -- message may be sent more "
      "than once", D, NETWORK_ERROR, T),
    R("postfix delivery temporarily suspended", "4.4.1", 0,
      "delivery temporarily suspended: connect to mx.example.com[192.0.2.10]:25: Connection refused", D,
      NETWORK_ERROR, T),
    R("postfix expired connection refused", "4.4.1", 0,
      "delivery temporarily suspended: connect to mx.example.com[192.0.2.10]:25: Connection refused", X, EXPIRED, T),
    R("postfix expired dsn failed 4.4.1", "4.4.1", 0,
      "connect to mx.example.com[192.0.2.10]:25: Connection timed out", F, EXPIRED, T),
    R("postfix expired mailbox full keeps reason", "4.2.2", 452,
      "host mx.example.com[192.0.2.10] said: 452 4.2.2 <bob@example.com>: Mailbox is full (in reply to RCPT TO command)",
      X, MAILBOX_FULL, T),
    R("postfix tls required not offered", "4.7.4", 0,
      "TLS is required, but was not offered by host mx.example.com[192.0.2.10]", D, TLS_REQUIRED, T),
    R("postfix tls handshake", "4.7.5", 0,
      "Cannot start TLS: handshake failure", D, NETWORK_ERROR, T),
    R("postfix loops back", "5.4.6", 0, "mail for example.com loops back to myself", F, SYSTEM_ERROR, T),
    R("postfix forwarding loop", "5.4.6", 0, "mail forwarding loop for bob@example.com", F, SYSTEM_ERROR, T),
    R("postfix message size exceeds", "5.3.4", 552,
      "host mx.example.com[192.0.2.10] said: 552 5.3.4 Message size exceeds fixed limit (in reply to end of DATA "
      "command)", F, MESSAGE_TOO_BIG, T),
    R("postfix own size limit", "5.3.4", 0,
      "message size 30000000 exceeds size limit 10240000 of server mx.example.com[192.0.2.10]", F, MESSAGE_TOO_BIG, T),
    R("postfix local unknown user", "5.1.1", 0, "unknown user: \"bob\"", F, USER_UNKNOWN, P),
    R("postfix virtual quota", "5.2.2", 0,
      "cannot update mailbox /var/mail/vhosts/example.com/bob for user bob. Disk quota exceeded", F, MAILBOX_FULL, T),
    R("postfix pipe command died", "5.3.0", 0, "Command died with status 1: \"/usr/lib/dovecot/deliver\"", F,
      SYSTEM_ERROR, T),
    R("postfix nullmx", "5.1.10", 556,
      "host mx.example.com[192.0.2.10] said: 556 5.1.10 <bob@nullmx.example>: Recipient address rejected: Domain "
      "nullmx.example does not accept mail (nullMX) (in reply to RCPT TO command)", F, HOST_UNKNOWN, P),
    R("postfix own nullmx", "5.1.10", 0, "Domain nullmx.example does not accept mail (nullMX)", F, HOST_UNKNOWN, P),
    R("postfix greylisting postgrey", "4.2.0", 450,
      "host mx.example.com[192.0.2.10] said: 450 4.2.0 <bob@example.com>: Recipient address rejected: Greylisted, see "
      "http://postgrey.schweikert.ch/help/example.com.html (in reply to RCPT TO command)", D, RATE_LIMITED, T),
    R("postfix login mismatch", "5.7.1", 553,
      "host mx.example.com[192.0.2.10] said: 553 5.7.1 <a@example.com>: Sender address rejected: not owned by user bob "
      "(in reply to RCPT TO command)", F, SENDER_REJECTED, T),
    R("postfix check_recipient_access reject", "5.7.1", 554,
      "host mx.example.com[192.0.2.10] said: 554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied "
      "(in reply to RCPT TO command)", F, POLICY_VIOLATION, T),
    R("postfix undeliverable address", "5.1.1", 550,
      "host mx.example.com[192.0.2.10] said: 550 5.1.1 <bob@example.com>: Recipient address rejected: undeliverable "
      "address: host mx2.example.com[192.0.2.11] said: 550 5.1.1 <bob@example.com>: Recipient address rejected: User "
      "unknown (in reply to RCPT TO command)", F, USER_UNKNOWN, P),
    R("postfix refused to talk to me", NULL, 0,
      "host mx.example.com[192.0.2.10] refused to talk to me: 554 5.7.1 Service unavailable; Client host [192.0.2.1] "
      "blocked using bl.spamcop.net", F, BLOCKED, T),
    R("postfix spamassassin milter", "5.7.1", 550,
      "host mx.example.com[192.0.2.10] said: 550 5.7.1 Message rejected as spam by Content Filtering. (in reply to end "
      "of DATA command)", F, CONTENT_REJECTED, T),
    R("postfix too many recipients", "4.5.3", 452,
      "host mx.example.com[192.0.2.10] said: 452 4.5.3 Error: too many recipients (in reply to RCPT TO command)", D,
      QUOTA_EXCEEDED, T),
    R("postfix 421 too many connections", "4.7.0", 421,
      "host mx.example.com[192.0.2.10] refused to talk to me: 421 4.7.0 mx.example.com Error: too many connections "
      "from 192.0.2.1", D, RATE_LIMITED, T),

    /* ---- Dovecot LMTP / LDA ---- */
    R("dovecot quota", "5.2.2", 552,
      "host mail.example.com[private/dovecot-lmtp] said: 552 5.2.2 <bob@example.com> Quota exceeded (mailbox for user "
      "is full) (in reply to end of DATA command)", F, MAILBOX_FULL, T),
    R("dovecot 4.2.2 quota", "4.2.2", 452,
      "host mail.example.com[private/dovecot-lmtp] said: 452 4.2.2 <bob@example.com> Mailbox is full", D, MAILBOX_FULL, T),
    R("dovecot user doesn't exist", "5.1.1", 550,
      "host mail.example.com[private/dovecot-lmtp] said: 550 5.1.1 <bob@example.com> User doesn't exist: "
      "bob@example.com (in reply to RCPT TO command)", F, USER_UNKNOWN, P),

    /* ---- Exim (its bounce texts and ACL replies, spec.txt) ---- */
    R("exim remote user unknown", NULL, 0,
      "SMTP error from remote mail server after RCPT TO:<bob@example.com>: host mx.example.com [192.0.2.10]: 550 5.1.1 "
      "<bob@example.com>: Recipient address rejected: User unknown", F, USER_UNKNOWN, P),
    R("exim unrouteable", NULL, 0, "Unrouteable address", F, HOST_UNKNOWN, P),
    R("exim mx non-existent", NULL, 0, "all relevant MX records point to non-existent hosts", F, HOST_UNKNOWN, P),
    R("exim retry timeout", NULL, 0, "retry timeout exceeded", F, EXPIRED, T),
    R("exim retry time not reached", NULL, 0,
      "retry time not reached for any host for 'example.com' after a long failure period", F, EXPIRED, T),
    R("exim mailbox quota", NULL, 0, "mailbox is full: retry timeout exceeded", F, MAILBOX_FULL, T),
    R("exim appendfile quota", "5.2.2", 0, "Mailbox quota exceeded", F, MAILBOX_FULL, T),
    R("exim relay not permitted", NULL, 550, "550 relay not permitted", F, RELAYING_DENIED, T),
    R("exim administrative prohibition", NULL, 550, "550 Administrative prohibition", F, POLICY_VIOLATION, T),
    R("exim sender verify failed", NULL, 550,
      "550-Verification failed for <a@sender.example> 550-Called: 192.0.2.20 550-Sent: RCPT TO:<a@sender.example> "
      "550-Response: 550 5.1.1 unknown user 550 Sender verify failed", F, SENDER_REJECTED, T),
    R("exim dnsbl", NULL, 550,
      "550 Rejected because 192.0.2.1 is in a black list at zen.spamhaus.org", F, BLOCKED, T),
    R("exim clamav", NULL, 550, "550 This message contains a virus (Eicar-Signature) and has been rejected", F, VIRUS, T),
    R("exim no such user here cpanel", NULL, 550, "550 No Such User Here", F, USER_UNKNOWN, P),
    R("exim unknown user", NULL, 550, "550 Unknown user", F, USER_UNKNOWN, P),
    R("exim spam score", NULL, 550, "550 Rejected: spam score too high (12.3)", F, CONTENT_REJECTED, T),
    R("exim remote timeout after data", NULL, 0,
      "SMTP timeout after end of data (1234 bytes written): Connection timed out", D, NETWORK_ERROR, T),
    R("exim too many hops", NULL, 0, "Too many \"Received\" headers - suspected mail loop", F, SYSTEM_ERROR, T),
    R("exim ratelimit", NULL, 451, "451 Sender rate overlimit - 120.0 / 1h / per_rcpt", D, RATE_LIMITED, T),
    R("exim ratelimit said", NULL, 450, "450 Rate limit exceeded for this sender", D, RATE_LIMITED, T),

    /* ---- Sendmail (and sendmail v5 transcripts) ---- */
    R("sendmail user unknown", "5.1.1", 550, "550 5.1.1 <bob@example.com>... User unknown", F, USER_UNKNOWN, P),
    R("sendmail relaying denied", "5.7.1", 550, "550 5.7.1 <bob@example.net>... Relaying denied", F, RELAYING_DENIED, T),
    R("sendmail domain of sender", "5.1.8", 553,
      "553 5.1.8 <a@sender.example>... Domain of sender address a@sender.example does not exist", F, SENDER_REJECTED, T),
    R("sendmail host unknown", "5.1.2", 550,
      "550 5.1.2 <bob@nodomain.example>... Host unknown (Name server: nodomain.example: host not found)", F,
      HOST_UNKNOWN, P),
    R("sendmail cannot send for 5 days", "4.4.7", 0,
      "Cannot send message for 5 days", F, EXPIRED, T),
    R("sendmail deferred connection refused", "4.0.0", 0,
      "Deferred: Connection refused by mx.example.com.", D, NETWORK_ERROR, T),
    R("sendmail insufficient disk", "4.3.1", 452, "452 4.4.5 Insufficient disk space; try again later", D,
      SYSTEM_ERROR, T),
    R("sendmail service unavailable", "5.0.0", 554, "554 5.0.0 Service unavailable", F, SYSTEM_ERROR, T),
    R("sendmail 5.0.0 only", "5.0.0", 0, NULL, F, UNDETERMINED, U),
    R("sendmail v5 user unknown no status", NULL, 0,
      "----- Transcript of session follows ----- 550 <bob@example.com>... User unknown", NULL, USER_UNKNOWN, P),
    R("sendmail v5 host unknown", NULL, 0,
      "550 <bob@nodomain.example>... Host unknown (Name server: nodomain.example: host not found)", NULL,
      HOST_UNKNOWN, P),
    R("sendmail message too large", "5.2.3", 552,
      "552 5.2.3 Message size exceeds maximum value", F, MESSAGE_TOO_BIG, T),
    R("sendmail rejected milter", "5.7.1", 550, "550 5.7.1 Command rejected", F, POLICY_VIOLATION, T),

    /* ---- qmail / netqmail / vpopmail chkuser ---- */
    R("qmail no mailbox here", "5.1.1", 0,
      "Sorry, no mailbox here by that name. (#5.1.1)", F, USER_UNKNOWN, P),
    R("qmail chkuser", NULL, 511,
      "Remote host said: 511 sorry, no mailbox here by that name (#5.1.1 - chkuser)", F, USER_UNKNOWN, P),
    R("qmail rcpthosts", NULL, 553,
      "Remote host said: 553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", F, RELAYING_DENIED, T),
    R("qmail no longer accepts", NULL, 0, "This address no longer accepts mail.", F, NOT_ACCEPTING_MAIL, P),
    R("qmail over quota", NULL, 0, "The users mailfolder is over the allowed quota (size). (#5.2.2)", F,
      MAILBOX_FULL, T),
    R("qmail connected but greeting failed", NULL, 0,
      "Connected to 192.0.2.10 but greeting failed. Remote host said: 554 mx.example.com", F, UNDETERMINED, U),
    R("qmail sorry no host", NULL, 0,
      "Sorry, I couldn't find any host named nodomain.example. (#5.1.2)", F, HOST_UNKNOWN, P),
    R("qmail could not connect", NULL, 0,
      "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; this message has "
      "been in the queue too long.", F, EXPIRED, T),
    R("qmail mailbox has exceeded", NULL, 552, "552 sorry, the mailbox has exceeded its quota (#5.2.2)", F,
      MAILBOX_FULL, T),

    /* ---- Courier MTA ---- */
    R("courier user unknown", NULL, 550, "550 User unknown.", F, USER_UNKNOWN, P),
    R("courier mailbox full", NULL, 0, "Mail quota exceeded.", F, MAILBOX_FULL, T),
    R("courier dns lookup failed", NULL, 0, "<bob@example.com>: DNS lookup failed.", D, NETWORK_ERROR, T),
    R("courier 511 unknown", NULL, 511, "511 <bob@example.com>: unknown user", F, USER_UNKNOWN, P),
    R("courier 517 rejected", NULL, 0,
      ">>> RCPT TO:<bob@example.com> <<< 550 5.7.1 <bob@example.com>... Access denied", F, POLICY_VIOLATION, T),

    /* ---- HCL/Lotus Domino ---- */
    R("domino not listed", NULL, 0,
      "User bob (bob@example.com) not listed in Domino Directory", F, USER_UNKNOWN, P),
    R("domino not listed public nab", NULL, 0,
      "User bob not listed in public Name & Address Book", F, USER_UNKNOWN, P),
    R("domino no route to domain", NULL, 0,
      "No route found to domain example.com from server MAIL01/ACME. Check Server, Connection and Domain documents in "
      "Name & Address Book.", F, HOST_UNKNOWN, P),
    R("domino mail file full", NULL, 0,
      "Unable to deliver message: Recipient's mail file is full", F, MAILBOX_FULL, T),
    R("domino 5.1.2 rfc1893", "5.1.2", 0, "Enhanced Mail System Status Code (RFC1893): 5.1.2", F, HOST_UNKNOWN, P),

    /* ---- OpenSMTPD (smtpd(8) bounce texts) ---- */
    R("opensmtpd invalid recipient", "5.1.1", 550, "550 Invalid recipient: <bob@example.com>", F, USER_UNKNOWN, P),
    R("opensmtpd delivery not authorized", "5.7.1", 550, "550 5.7.1 Delivery not authorized", F, POLICY_VIOLATION, T),
    R("opensmtpd envelope expired", NULL, 0, "Envelope expired", F, EXPIRED, T),
    R("opensmtpd no mx", NULL, 0, "No MX found for domain", F, HOST_UNKNOWN, P),
    R("opensmtpd network error", NULL, 0, "Network error on destination MXs", D, NETWORK_ERROR, T),
    R("opensmtpd loop", NULL, 0, "Loop detected", F, SYSTEM_ERROR, T),
    R("opensmtpd temporary failure", "4.0.0", 0, "Temporary failure", D, SYSTEM_ERROR, T),

    /* ---- GMX / Web.de (postmaster.gmx.net / web.de error pages) ---- */
    R("gmx mailbox unavailable", NULL, 550,
      "550 Requested action not taken: mailbox unavailable", F, USER_UNKNOWN, P),
    R("gmx storage allocation", NULL, 552,
      "552 Requested mail action aborted: exceeded storage allocation", F, MAILBOX_FULL, T),
    R("gmx block listed", NULL, 554,
      "554-gmx.net (mxgmx017) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is block listed. "
      "554 For explanation visit https://postmaster.gmx.net/en/case?c=i&i=ip&v=192.0.2.1", F, BLOCKED, T),
    R("web.de reject spam", NULL, 554,
      "554-Transaction failed 554-Reject due to policy restrictions. 554 For explanation visit "
      "https://postmaster.web.de/error-messages", F, POLICY_VIOLATION, T),
    R("gmx user unknown", NULL, 550, "550 <bob@gmx.net>: User unknown", F, USER_UNKNOWN, P),

    /* ---- Zoho Mail ---- */
    R("zoho user does not exist", "5.1.1", 550, "550 5.1.1 User does not exist - <bob@example.com>", F, USER_UNKNOWN, P),
    R("zoho dmarc", "5.7.1", 554, "554 5.7.1 Email rejected per DMARC policy for example.com", F, AUTH_FAILURE, T),
    R("zoho unusual activity", "5.4.6", 550, "550 5.4.6 Unusual sending activity detected", F, BLOCKED, T),
    R("zoho mailbox full", "5.2.2", 552, "552 5.2.2 Mailbox size limit exceeded", F, MAILBOX_FULL, T),

    /* ---- Verizon / AT&T / Comcast ---- */
    R("att addressee unknown", "5.2.1", 550,
      "550 5.2.1 <BOB@PRODIGY.NET>... Addressee unknown, relay=[192.0.2.1]", F, USER_UNKNOWN, P),
    R("att blank mailhost", "5.2.1", 550,
      "550 5.2.1 <bob@prodigy.net>... blank mailhost - invalid address, relay=[192.0.2.1]", F, USER_UNKNOWN, P),
    R("att no valid sender domain ptr", "5.7.1", 550,
      "550 5.7.1 Connections not accepted from servers without a valid sender domain. ## Fix reverse DNS for 192.0.2.1",
      F, NO_PTR, T),
    R("verizon recipient rejected", "5.1.1", 550,
      "550 5.1.1 <bob@verizon.net>: Recipient address rejected: verizon.net", F, USER_UNKNOWN, P),
    R("verizon 571 refused", NULL, 571, "571 Message Refused", F, POLICY_VIOLATION, T),
    R("comcast rbl", NULL, 554,
      "554 resimta-po-12v.sys.comcast.net comcast 192.0.2.1 found on one or more DNSBLs, see http://postmaster.comcast.net/smtp-error-codes.php#BL000001",
      F, BLOCKED, T),
    R("comcast mailbox not available", "5.1.1", 551, "551 5.1.1 <bob@comcast.net> Not our Customer", F, USER_UNKNOWN, P),

    /* ---- Amazon SES / WorkMail ---- */
    R("ses suppression list", NULL, 0,
      "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid "
      "address.", F, USER_UNKNOWN, P),
    R("ses not verified", NULL, 554,
      "554 Message rejected: Email address is not verified. The following identities failed the check in region "
      "US-EAST-1: a@sender.example", F, SENDER_REJECTED, T),
    R("ses sending quota", NULL, 454,
      "454 Throttling failure: Maximum sending rate exceeded.", D, RATE_LIMITED, T),
    R("ses daily quota", NULL, 454,
      "454 Throttling failure: Daily message quota exceeded.", D, QUOTA_EXCEEDED, T),
    R("workmail mailbox unavailable", "5.1.1", 550,
      "550 5.1.1 Requested action not taken: mailbox unavailable", F, USER_UNKNOWN, P),

    /* ---- Trend Micro InterScan MSS / Hosted Email Security ---- */
    R("interscan transcript user unknown", NULL, 0,
      "Sent >>> RCPT TO: <bob@example.com> Received <<< 550 5.1.1 <bob@example.com>... User unknown", F,
      USER_UNKNOWN, P),
    R("trend micro ers", NULL, 550,
      "550 5.7.1 Message rejected by Email Reputation Services (ERS) for IP 192.0.2.1", F, BLOCKED, T),

    /* ---- MXLogic / McAfee ---- */
    R("mxlogic unknown user", "5.1.1", 550, "550 5.1.1 <bob@example.com>... Unknown user (mxl_mta-1.2.3)", F,
      USER_UNKNOWN, P),
    R("mxlogic spam", NULL, 550, "550 Mail rejected - content matched spam (mxl)", F, CONTENT_REJECTED, T),

    /* ---- Ipswitch IMail ---- */
    R("imail unknown user", NULL, 550, "550 Unknown user: bob@example.com", F, USER_UNKNOWN, P),
    R("imail mailbox full", NULL, 552, "552 Mailbox is full", F, MAILBOX_FULL, T),

    /* ---- Dragonfly Mail Agent ---- */
    R("dma remote permanent", NULL, 0,
      "There was an error delivering your mail to <bob@example.com>. remote delivery failed: 550 5.1.1 "
      "<bob@example.com>: Recipient address rejected: User unknown", F, USER_UNKNOWN, P),
    R("dma dns", NULL, 0, "DNS lookup failure: unknown host nodomain.example", F, HOST_UNKNOWN, P),

    /* ---- Google Groups / Mailman (list moderation) ---- */
    R("google groups no permission", NULL, 0,
      "The group you tried to contact (team) may not exist, or you may not have permission to post messages to the "
      "group.", F, POLICY_VIOLATION, T),
    R("mailman held for moderation", NULL, 0,
      "Your mail to 'Team' with the subject Hello Is being held until the list moderator can review it for approval. "
      "The reason it is being held: Post by non-member to a members-only list. It is held for moderation.", NULL,
      ON_HOLD, U),
    R("mailman awaiting moderator", NULL, 0, "Your message is awaiting moderator approval", NULL, ON_HOLD, U),

    /* ---- Symantec Email Security.cloud / MessageLabs ---- */
    R("messagelabs pbl", NULL, 553,
      "553-mail rejected because your IP address is in the PBL: see http://www.spamhaus.org/pbl", F, BLOCKED, T),
    R("messagelabs spam", "5.7.1", 550, "550 5.7.1 Requested action aborted: message looks like spam", F,
      CONTENT_REJECTED, T),

    /* ---- Yandex / Mail.ru ---- */
    R("yandex no such user", "5.7.1", 550, "550 5.7.1 No such user!", F, USER_UNKNOWN, P),
    R("yandex policy rejection", "5.7.1", 550, "550 5.7.1 Policy rejection on the target address", F,
      POLICY_VIOLATION, T),
    R("yandex spam", "5.7.1", 554,
      "554 5.7.1 [2] Message rejected under suspicion of SPAM; https://ya.cc/1IrBc", F, CONTENT_REJECTED, T),
    R("mailru disabled", NULL, 550, "550 Message was not accepted -- invalid mailbox. Local mailbox bob@mail.ru is unavailable: account is disabled", F,
      MAILBOX_DISABLED, T),
    R("mailru user not found", NULL, 550, "550 Message was not accepted -- invalid mailbox. Local mailbox bob@mail.ru is unavailable: user not found", F,
      USER_UNKNOWN, P),

    /* ---- Proton Mail / Fastmail / Rackspace ---- */
    R("proton address does not exist", "5.1.1", 550, "550 5.1.1 Address does not exist", F, USER_UNKNOWN, P),
    R("fastmail over quota", "4.2.2", 452, "452 4.2.2 Over quota", D, MAILBOX_FULL, T),
    R("rackspace recipient not found", "5.1.1", 550, "550 5.1.1 <bob@example.com>: Recipient not found", F,
      USER_UNKNOWN, P),
    R("rackspace blocked rbl", NULL, 550,
      "550 Rejected: 192.0.2.1 listed at zen.spamhaus.org", F, BLOCKED, T),

    /* ---- RFC 3463 / RFC 5248 / RFC 7372 / RFC 7505: status alone ---- */
    R("rfc status 5.1.1 alone", "5.1.1", 0, NULL, F, USER_UNKNOWN, P),
    R("rfc status 5.1.2 alone", "5.1.2", 0, NULL, F, HOST_UNKNOWN, P),
    R("rfc status 5.1.3 alone", "5.1.3", 0, NULL, F, USER_UNKNOWN, P),
    R("rfc status 5.1.6 alone", "5.1.6", 0, NULL, F, HAS_MOVED, P),
    R("rfc status 5.1.7 alone", "5.1.7", 0, NULL, F, SENDER_REJECTED, T),
    R("rfc status 5.1.8 alone", "5.1.8", 0, NULL, F, SENDER_REJECTED, T),
    R("rfc status 5.1.10 alone", "5.1.10", 0, NULL, F, HOST_UNKNOWN, P),
    R("rfc status 5.2.0 alone", "5.2.0", 0, NULL, F, UNDETERMINED, U),
    R("rfc status 5.2.1 alone", "5.2.1", 0, NULL, F, MAILBOX_DISABLED, T),
    R("rfc status 5.2.2 alone", "5.2.2", 0, NULL, F, MAILBOX_FULL, T),
    R("rfc status 5.2.3 alone", "5.2.3", 0, NULL, F, MESSAGE_TOO_BIG, T),
    R("rfc status 5.3.0 alone", "5.3.0", 0, NULL, F, SYSTEM_ERROR, T),
    R("rfc status 5.3.4 alone", "5.3.4", 0, NULL, F, MESSAGE_TOO_BIG, T),
    R("rfc status 5.4.4 alone", "5.4.4", 0, NULL, F, HOST_UNKNOWN, P),
    R("rfc status 4.4.1 alone", "4.4.1", 0, NULL, D, NETWORK_ERROR, T),
    R("rfc status 4.4.7 alone", "4.4.7", 0, NULL, F, EXPIRED, T),
    R("rfc status 5.5.1 alone", "5.5.1", 0, NULL, F, SYNTAX_ERROR, T),
    R("rfc status 5.5.3 alone", "5.5.3", 0, NULL, F, QUOTA_EXCEEDED, T),
    R("rfc status 5.6.1 alone", "5.6.1", 0, NULL, F, CONTENT_REJECTED, T),
    R("rfc status 5.7.1 alone", "5.7.1", 0, NULL, F, POLICY_VIOLATION, T),
    R("rfc status 5.7.10 alone", "5.7.10", 0, NULL, F, TLS_REQUIRED, T),
    R("rfc status 5.7.20 alone", "5.7.20", 0, NULL, F, AUTH_FAILURE, T),
    R("rfc status 5.7.23 alone", "5.7.23", 0, NULL, F, AUTH_FAILURE, T),
    R("rfc status 5.7.25 alone", "5.7.25", 0, NULL, F, NO_PTR, T),
    R("rfc status 5.7.26 alone", "5.7.26", 0, NULL, F, AUTH_FAILURE, T),
    R("rfc status 5.7.27 alone", "5.7.27", 0, NULL, F, SENDER_REJECTED, T),
    R("rfc status 5.7.17 alone", "5.7.17", 0, NULL, F, USER_UNKNOWN, P),
    R("rfc status 5.7.30 alone", "5.7.30", 0, NULL, F, TLS_REQUIRED, T),
    R("rfc status 5.7.8 alone", "5.7.8", 0, NULL, F, AUTH_FAILURE, T),
    R("rfc status 4.7.1 alone", "4.7.1", 0, NULL, D, POLICY_VIOLATION, T),
    R("rfc status with comment", "5.1.1 (bad destination mailbox address)", 0, NULL, F, USER_UNKNOWN, P),

    /* ---- RFC 5321 / RFC 7504: code alone ---- */
    R("rfc code 552 alone", NULL, 552, NULL, F, MAILBOX_FULL, T),
    R("rfc code 551 alone", NULL, 551, NULL, F, HAS_MOVED, P),
    R("rfc code 521 alone", NULL, 521, NULL, F, NOT_ACCEPTING_MAIL, P),
    R("rfc code 556 alone", NULL, 556, NULL, F, HOST_UNKNOWN, P),
    R("rfc code 500 alone", NULL, 500, NULL, F, SYNTAX_ERROR, T),
    R("rfc code 550 alone", NULL, 550, NULL, F, UNDETERMINED, U),
    R("rfc code 554 alone", NULL, 554, NULL, F, UNDETERMINED, U),
    R("rfc code 421 alone", NULL, 421, NULL, D, SYSTEM_ERROR, T),
    R("rfc code 521 does not accept mail", NULL, 521, "521 mx.example.com does not accept mail", F,
      NOT_ACCEPTING_MAIL, P),
    R("rfc 551 user not local", NULL, 551, "551 User not local; please try <bob@example.org>", F, HAS_MOVED, P),
    R("rfc 5.1.6 has moved", "5.1.6", 550, "550 5.1.6 Recipient mailbox has moved, no forwarding address", F,
      HAS_MOVED, P),

    /* ---- Cox / Charter / Spectrum and other ISPs: 5.1.0 with few words ---- */
    R("isp 5.1.0 address rejected", "5.1.0", 550, "550 5.1.0 Address rejected bob@example.com", F, USER_UNKNOWN, P),
    R("isp #5.1.0 address rejected", NULL, 0, "smtp; 550 #5.1.0 Address rejected.", F, USER_UNKNOWN, P),
    R("isp recipient rejected no account", NULL, 550, "550 Recipient Rejected: No account by that name here", F,
      USER_UNKNOWN, P),
    R("isp 551 not our user", NULL, 551, "551 not our user", F, USER_UNKNOWN, P),
    R("isp 5.7.1 recipient was not found", "5.7.1", 550,
      "550 5.7.1 This message was rejected because the recipient was not found", F, USER_UNKNOWN, P),
    R("isp 5.7.1 address rejected is policy", "5.7.1", 554, "554 5.7.1 <bob@example.com>: Recipient address rejected: go away",
      F, POLICY_VIOLATION, T),

    R("isp quota usage exceeded", NULL, 550, "550 Mailbox quota usage exceeded", F, MAILBOX_FULL, T),
    R("isp over storage limit", "5.2.2", 554, "554 5.2.2 Recipient over storage limit", F, MAILBOX_FULL, T),
    R("isp unusual activity", "5.7.1", 550,
      "550-5.7.1 Your message could not be delivered because of unusual activity", F, BLOCKED, T),
    R("submission 530 authentication required", "5.7.0", 530, "530 5.7.0 Authentication required", F,
      RELAYING_DENIED, T),
    R("isp quota word alone", NULL, 552, "552 Quota", F, MAILBOX_FULL, T),

    /* ---- only words (text bounces, no code, no status) ---- */
    R("words user unknown", NULL, 0, "User unknown", NULL, USER_UNKNOWN, P),
    R("words mailbox full", NULL, 0, "The recipient's mailbox is full", NULL, MAILBOX_FULL, T),
    R("words spam", NULL, 0, "Your message was rejected because it looks like spam", NULL, CONTENT_REJECTED, T),
    R("words blocked", NULL, 0, "Message blocked", NULL, BLOCKED, T),
    R("words greylisted", NULL, 0, "Greylisted, please try again in 300 seconds", NULL, RATE_LIMITED, T),
    R("words german unknown", NULL, 0, "Benutzer unbekannt", NULL, USER_UNKNOWN, P),
    R("words german full", NULL, 0, "Postfach voll", NULL, MAILBOX_FULL, T),
    R("words french", NULL, 0, "L'adresse n'existe pas", NULL, USER_UNKNOWN, P),
    R("words mixed case", NULL, 0, "NO SUCH USER HERE", NULL, USER_UNKNOWN, P),
    R("words folded", NULL, 0, "Mailbox\r\n\tis   full", NULL, MAILBOX_FULL, T),
    R("words nothing useful", NULL, 0, "Delivery has failed to these recipients or groups", NULL, UNDETERMINED, U),
    R("words disabled", NULL, 0, "This account has been disabled", NULL, MAILBOX_DISABLED, T),
    R("words virus", NULL, 0, "The message you sent contained a virus", NULL, VIRUS, T),
    R("words dkim", NULL, 0, "DKIM signature verification failed", NULL, AUTH_FAILURE, T),
    R("words rate", NULL, 0, "Too many connections, slow down", NULL, RATE_LIMITED, T),
    R("words on hold quarantine", NULL, 0, "Your message has been quarantined for review", NULL, ON_HOLD, U),
    R("words tls", NULL, 0, "Must issue a STARTTLS command first", NULL, TLS_REQUIRED, T),
    R("words relaying", NULL, 0, "Relaying denied", NULL, RELAYING_DENIED, T),
    R("words syntax", NULL, 500, "500 5.5.1 Command unrecognized", F, SYNTAX_ERROR, T),
    R("words expired", NULL, 0, "Message expired after 5 days in queue", NULL, EXPIRED, T),

    /* ---- text overrides a generic status; a specific status decides otherwise ---- */
    R("5.0.0 with user unknown words", "5.0.0", 550, "550 5.0.0 <bob@example.com>... User unknown", F,
      USER_UNKNOWN, P),
    R("5.0.0 with mailbox full words", "5.0.0", 552, "552 5.0.0 Mailbox full", F, MAILBOX_FULL, T),
    R("5.0.0 with spamhaus", "5.0.0", 550, "550 5.0.0 Blocked by Spamhaus", F, BLOCKED, T),
    R("5.7.1 with user unknown words", "5.7.1", 550, "550 5.7.1 Unknown user", F, USER_UNKNOWN, P),
    R("5.7.1 generic with denied", "5.7.1", 550, "550 5.7.1 Denied", F, POLICY_VIOLATION, T),
    R("5.1.1 with denied words: status decides", "5.1.1", 550, "550 5.1.1 Access denied", F, USER_UNKNOWN, P),
    R("5.2.2 with refused words: status decides", "5.2.2", 552, "552 5.2.2 Refused", F, MAILBOX_FULL, T),
    R("4.4.7 with weak words: status decides", "4.4.7", 0, "blocked", F, EXPIRED, T),
    R("5.7.26 with weak words: status decides", "5.7.26", 550, "550 5.7.26 Blocked", F, AUTH_FAILURE, T),
    R("contradiction: 5.1.1 with blocklist words: text wins", "5.1.1", 550,
      "550 5.1.1 Your IP 192.0.2.1 is listed on our blocklist", F, BLOCKED, T),
    R("contradiction: 5.7.1 status, mailbox full words: text wins", "5.7.1", 550, "550 5.7.1 Mailbox full", F,
      MAILBOX_FULL, T),
    R("status from text when none given", NULL, 0, "smtp; 550 5.1.1 Bad destination", F, USER_UNKNOWN, P),
    R("code from text when none given", NULL, 0, "smtp; 552 Requested action aborted", F, MAILBOX_FULL, T),
    R("hint ignored for 4xx", NULL, 450, "450 Requested mail action not taken: mailbox unavailable", D,
      UNDETERMINED, U),

    /* ---- 4xx with permanent words: transient (the big senders retry 4xx) ---- */
    R("450 user unknown is transient", "4.1.1", 450, "450 4.1.1 <bob@example.com>: Recipient address rejected: User unknown",
      D, USER_UNKNOWN, T),
    R("450 user unknown failed after retries", "4.1.1", 450,
      "450 4.1.1 <bob@example.com>: Recipient address rejected: User unknown", F, USER_UNKNOWN, T),
    R("4xx code only with permanent words", NULL, 451, "451 No such user", D, USER_UNKNOWN, T),
    R("5xx code but delayed action", "5.1.1", 550, "550 5.1.1 User unknown", D, USER_UNKNOWN, T),
    R("5.x status, 4xx code: temporary wins", "5.1.1", 450, "450 5.1.1 User unknown", F, USER_UNKNOWN, T),
    R("host unknown 4.4.4 deferred", "4.4.4", 0, "Host or domain name not found. Name service error for name=nodomain.example type=A: Host not found",
      D, HOST_UNKNOWN, T),

    /* ---- nothing known ---- */
    R("everything NULL", NULL, 0, NULL, NULL, UNDETERMINED, U),
    R("empty text", NULL, 0, "", NULL, UNDETERMINED, U),
    R("only spaces", NULL, 0, "   \t  ", F, UNDETERMINED, U),
    R("success status ignored", "2.0.0", 0, NULL, F, UNDETERMINED, U),
    R("garbage status", "banana", 0, NULL, F, UNDETERMINED, U),
    R("bad code ignored", NULL, 999, NULL, F, UNDETERMINED, U),
    R("host name with spam words is not read", "5.1.1", 550,
      "host antivirus-spam.example.net[192.0.2.10] said: 550 5.1.1 <bob@example.com>: Recipient address rejected: "
      "not here (in reply to RCPT TO command)", F, USER_UNKNOWN, P),
    R("bare address with words is not read", "5.1.1", 550,
      "550 5.1.1 antivirus-spam@example.com... mailbox unavailable", F, USER_UNKNOWN, P),
    R("sendmail 5.1.7 invalid address is the sender's", "5.1.7", 501, "501 5.1.7 Invalid address", F,
      SENDER_REJECTED, T),
    R("domain does not exist is host, not user", "5.1.2", 550,
      "550 5.1.2 <bob@nodomain.example>: Domain does not exist", F, HOST_UNKNOWN, P),
    R("domain does not exist without status", NULL, 550, "550 Domain does not exist", F, HOST_UNKNOWN, P),
    R("address with words is not read", NULL, 550, "550 <virus-spam@example.com>: mailbox unavailable", F,
      USER_UNKNOWN, P),
};

#undef R

static void
test_row(void **state)
{
    const bc_row_t *row = *state;
    bounce_class_t c;
    bounce_classify(row->status, row->code, row->text, row->action, &c);
    if (c.reason != row->reason || c.type != row->type)
        print_error("%s: got %s/%s (by %s, code %d, status '%s'), want %s/%s\n", row->name,
                    bounce_reason_name(c.reason), bounce_type_name(c.type), c.decided_by, c.code, c.status,
                    bounce_reason_name(row->reason), bounce_type_name(row->type));
    assert_int_equal(c.reason, row->reason);
    assert_int_equal(c.type, row->type);
}

/* Every reason of the vocabulary appears in the table at least once. */
static void
test_every_reason_covered(void **state)
{
    (void)state;
    for (int r = 0; r < BOUNCE_REASON_COUNT; r++) {
        int seen = 0;
        for (size_t i = 0; i < UNIT_ROWS(rows); i++)
            if ((int)rows[i].reason == r)
                seen++;
        if (seen == 0)
            print_error("no case for %s\n", bounce_reason_name((bounce_reason_t)r));
        assert_true(seen > 0);
    }
    assert_true(UNIT_ROWS(rows) >= 250);
}

/* ---- the extractor ---- */

typedef struct {
    const char *name;
    const char *text;
    int code;
    const char *status;
    long at;
} ex_row_t;

static const ex_row_t ex_rows[] = {
    { "extract postfix said", "host mx said: 550-5.1.1 The email account", 550, "5.1.1", 14 },
    { "extract dsn smtp;", "smtp; 552 5.2.2 Mailbox full", 552, "5.2.2", 6 },
    { "extract code only", "smtp; 550 Requested action not taken", 550, "", 6 },
    { "extract qmail hash", "Sorry, no mailbox here by that name. (#5.1.1)", 0, "5.1.1", 39 },
    { "extract status 3-digit detail", "550 5.7.708 Service unavailable", 550, "5.7.708", 0 },
    { "extract status 2-digit subject rejected", "421 Message temporarily deferred - 4.16.50", 421, "", 0 },
    { "extract ip is not a status", "connect to 5.1.1.1[5.1.1.1]:25: Connection refused", 0, "", -1 },
    { "extract port is not a code", "connect to mx[192.0.2.1]:25: Connection refused", 0, "", -1 },
    { "extract number in words is not a code", "message of 1550 bytes", 0, "", -1 },
    { "extract class mismatch", "550 4.1.1 odd", 550, "4.1.1", 0 },
    { "extract status before code", "Status 5.1.1 then 550 something", 550, "5.1.1", 18 },
    { "extract exchange #", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", 550, "5.1.1", 1 },
    { "extract nothing", "no numbers here", 0, "", -1 },
    { "extract NULL", NULL, 0, "", -1 },
    { "extract 2xx is not a failure", "250 2.0.0 Ok", 0, "", -1 },
    { "extract end of text", "said: 451", 451, "", 6 },
};

static void
test_extract(void **state)
{
    const ex_row_t *row = *state;
    int code = -1;
    char status[BOUNCE_STATUS_MAX];
    long at = bounce_class_extract(row->text, &code, status);
    assert_int_equal(code, row->code);
    assert_string_equal(status, row->status);
    assert_int_equal(at, row->at);
}

/* ---- names ---- */

static void
test_names(void **state)
{
    (void)state;
    for (int r = 0; r < BOUNCE_REASON_COUNT; r++) {
        const char *name = bounce_reason_name((bounce_reason_t)r);
        assert_non_null(name);
        for (const char *p = name; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        bounce_reason_t back;
        assert_int_equal(bounce_reason_from_name(name, &back), 0);
        assert_int_equal(back, r);
        for (int o = 0; o < r; o++)
            assert_string_not_equal(name, bounce_reason_name((bounce_reason_t)o));
    }
    bounce_reason_t out;
    assert_int_equal(bounce_reason_from_name("hard", &out), -1);
    assert_int_equal(bounce_reason_from_name(NULL, &out), -1);
    assert_string_equal(bounce_reason_name((bounce_reason_t)999), "undetermined");
    assert_string_equal(bounce_reason_name(BOUNCE_USER_UNKNOWN), "user_unknown");
    assert_string_equal(bounce_reason_name(BOUNCE_AUTH_FAILURE), "auth_failure");
    assert_string_equal(bounce_type_name(BOUNCE_TYPE_PERMANENT), "permanent");
    assert_string_equal(bounce_type_name(BOUNCE_TYPE_TRANSIENT), "transient");
    assert_string_equal(bounce_type_name(BOUNCE_TYPE_UNDETERMINED), "undetermined");
}

/* Exactly the four address-is-gone reasons are permanent; the sender
 * problems are the reputation, content, authentication and setup ones. */
static void
test_types_and_sender_flag(void **state)
{
    (void)state;
    for (int r = 0; r < BOUNCE_REASON_COUNT; r++) {
        bounce_type_t t = bounce_reason_type((bounce_reason_t)r);
        int permanent = r == BOUNCE_USER_UNKNOWN || r == BOUNCE_HOST_UNKNOWN || r == BOUNCE_HAS_MOVED ||
                        r == BOUNCE_NOT_ACCEPTING_MAIL;
        int undetermined = r == BOUNCE_UNDETERMINED || r == BOUNCE_ON_HOLD;
        assert_int_equal(t, permanent ? BOUNCE_TYPE_PERMANENT
                                      : undetermined ? BOUNCE_TYPE_UNDETERMINED : BOUNCE_TYPE_TRANSIENT);
        if (permanent)
            assert_false(bounce_reason_sender_problem((bounce_reason_t)r));
    }
    assert_true(bounce_reason_sender_problem(BOUNCE_BLOCKED));
    assert_true(bounce_reason_sender_problem(BOUNCE_CONTENT_REJECTED));
    assert_true(bounce_reason_sender_problem(BOUNCE_AUTH_FAILURE));
    assert_true(bounce_reason_sender_problem(BOUNCE_NO_PTR));
    assert_true(bounce_reason_sender_problem(BOUNCE_TLS_REQUIRED));
    assert_false(bounce_reason_sender_problem(BOUNCE_MAILBOX_FULL));
    assert_false(bounce_reason_sender_problem(BOUNCE_RATE_LIMITED));
    assert_false(bounce_reason_sender_problem(BOUNCE_EXPIRED));
}

/* ---- hostile input ---- */

/* 1 MB of filler with the decisive words at the start: read; at the end,
 * beyond BOUNCE_TEXT_MAX: not read (bounded work), never a crash. */
static void
test_huge_text(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *big = malloc(n + 64);
    assert_non_null(big);
    memcpy(big, "550 5.0.0 User unknown ", 23);
    memset(big + 23, 'x', n - 23);
    big[n] = '\0';
    bounce_class_t c;
    bounce_classify(NULL, 0, big, "failed", &c);
    assert_int_equal(c.reason, BOUNCE_USER_UNKNOWN);
    assert_int_equal(c.code, 550);
    assert_string_equal(c.status, "5.0.0");

    memset(big, 'y', n);
    memcpy(big + n - 20, " mailbox is full", 16);
    big[n - 4] = '\0';
    bounce_classify("5.7.1", 550, big, "failed", &c);
    assert_int_equal(c.reason, BOUNCE_POLICY_VIOLATION); /* the words lie beyond what is read */
    free(big);
}

/* Invalid UTF-8, control bytes, every high byte: no crash, words still found. */
static void
test_hostile_bytes(void **state)
{
    (void)state;
    char text[600];
    size_t o = 0;
    for (int b = 0x80; b < 0x100; b++)
        text[o++] = (char)b;
    const char *words = " MAILBOX\t\tFULL \xc3\x28";
    memcpy(text + o, words, strlen(words));
    o += strlen(words);
    for (int b = 1; b < 0x20; b++)
        text[o++] = (char)b;
    text[o] = '\0';
    bounce_class_t c;
    bounce_classify(NULL, 0, text, NULL, &c);
    assert_int_equal(c.reason, BOUNCE_MAILBOX_FULL);
    for (size_t i = 0; i < o; i++) /* only bytes: whatever they say, a reason */
        text[i] = (char)(1 + (i * 37) % 255);
    bounce_classify(NULL, 0, text, "failed", &c);
    assert_true(c.reason < BOUNCE_REASON_COUNT);
}

/* Every prefix of a real diagnostic is safe and gives a reason from the vocabulary. */
static void
test_prefixes(void **state)
{
    (void)state;
    const char *full = "host mx.example.com[192.0.2.10] said: 550-5.7.26 This mail has been blocked because the "
                       "sender is unauthenticated. (in reply to end of DATA command)";
    char buf[256];
    for (size_t len = 0; len <= strlen(full); len++) {
        memcpy(buf, full, len);
        buf[len] = '\0';
        bounce_class_t c;
        bounce_classify(NULL, 0, buf, "failed", &c);
        assert_true(c.reason < BOUNCE_REASON_COUNT);
        assert_true(strlen(c.status) < BOUNCE_STATUS_MAX);
    }
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_row, rows, sizeof(rows[0]), UNIT_ROWS(rows));
    unit_add_rows(&suite, test_extract, ex_rows, sizeof(ex_rows[0]), UNIT_ROWS(ex_rows));
    unit_add(&suite, "every reason has a case, 250 cases at least", test_every_reason_covered, NULL);
    unit_add(&suite, "names are stable snake_case and round-trip", test_names, NULL);
    unit_add(&suite, "types and the sender-problem flag", test_types_and_sender_flag, NULL);
    unit_add(&suite, "1 MB text: bounded, decisive words read at the start", test_huge_text, NULL);
    unit_add(&suite, "invalid UTF-8 and control bytes", test_hostile_bytes, NULL);
    unit_add(&suite, "every prefix of a diagnostic is safe", test_prefixes, NULL);
    return unit_run("bounce_class", &suite, NULL, NULL);
}
