namespace Baton.Tls;

/// <summary>What an OCSP response says about one certificate: until when it may be stapled, or why it may not.</summary>
internal readonly record struct OcspVerdict(DateTimeOffset NextUpdate, string? Problem)
{
    public bool CanStaple => Problem is null;
}

/// <summary>
/// Checks an OCSP response (DER) before it is stapled: it parses, its status is successful, it has a status for this
/// certificate (its id from the certificate and its issuer, the next one in the certificate file), that status is good, and
/// now is within thisUpdate..nextUpdate (5 minutes of clock skew, as OpenSSL's tools allow). The responder's signature is
/// the client's to check: it holds the trust anchors, and a response it cannot verify it ignores.
/// </summary>
internal static unsafe class OcspResponseCheck
{
    /// <summary>The largest response read (responses are a few KiB); also what a worker's settings carry.</summary>
    public const int MaxResponseLength = Channel.WorkerSettings.MaxOcspResponseLength;

    private const int ClockSkewSeconds = 300;

    public static OcspVerdict Check(ReadOnlySpan<byte> der, LoadedCertificate certificate)
    {
        if (der.IsEmpty || der.Length > MaxResponseLength) return Refused($"the response must be 1..{MaxResponseLength} bytes of DER (it has {der.Length})");
        if (Interop.Crypto.SkNum(certificate.Chain) == 0) return Refused("the certificate file holds no issuer after the certificate, which the response's id needs");
        nint response = 0, basic = 0, id = 0;
        try
        {
            Interop.Crypto.ErrClearError();
            fixed (byte* bytes = der)
            {
                byte* cursor = bytes;
                response = Interop.Crypto.D2iOcspResponse(0, &cursor, der.Length);
                if (response == 0 || cursor != bytes + der.Length) return Refused("it is not one DER OCSP response");
            }
            int status = Interop.Crypto.OcspResponseStatus(response);
            if (status != Interop.Crypto.OCSP_RESPONSE_STATUS_SUCCESSFUL) return Refused($"the responder answered status {status}, not successful");
            basic = Interop.Crypto.OcspResponseGet1Basic(response);
            if (basic == 0) return Refused("it holds no basic response");
            id = Interop.Crypto.OcspCertToId(0, certificate.Certificate, Interop.Crypto.SkValue(certificate.Chain, 0));
            if (id == 0) return Refused("no certificate id could be made for the certificate");
            if (Interop.Crypto.OcspRespFindStatus(basic, id, out int certificateStatus, out _, out _, out nint thisUpdate, out nint nextUpdate) != 1)
                return Refused("it is about another certificate");
            if (certificateStatus != Interop.Crypto.V_OCSP_CERTSTATUS_GOOD)
                return Refused(certificateStatus == Interop.Crypto.V_OCSP_CERTSTATUS_REVOKED ? "it says the certificate is revoked" : "its status is unknown");
            if (nextUpdate == 0) return Refused("it has no nextUpdate, so when it expires cannot be told");
            if (Interop.Crypto.OcspCheckValidity(thisUpdate, nextUpdate, ClockSkewSeconds, -1) != 1)
                return Refused("it is outside its validity window (thisUpdate..nextUpdate)");
            if (Interop.Crypto.Asn1TimeDiff(out int days, out int seconds, 0, nextUpdate) != 1) return Refused("its nextUpdate cannot be read");
            return new OcspVerdict(DateTimeOffset.UtcNow + TimeSpan.FromDays(days) + TimeSpan.FromSeconds(seconds), null);
        }
        finally
        {
            if (id != 0) Interop.Crypto.OcspCertIdFree(id);
            if (basic != 0) Interop.Crypto.OcspBasicRespFree(basic);
            if (response != 0) Interop.Crypto.OcspResponseFree(response);
            // A refused response leaves its parse errors queued, where the next OpenSSL call on this thread would find them.
            Interop.Crypto.ErrClearError();
        }
    }

    private static OcspVerdict Refused(string problem) => new(default, problem);
}
