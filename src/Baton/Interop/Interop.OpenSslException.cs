internal static partial class Interop
{
    /// <summary>A failed libssl/libcrypto call, with the drained error queue as its message (see <see cref="Crypto.CreateOpenSslException"/>).</summary>
    internal sealed class OpenSslException : Exception
    {
        internal OpenSslException(string call, nuint errorCode, string detail)
            : base($"{call} failed: {detail}")
        {
            Call = call;
            ErrorCode = errorCode;
        }

        /// <summary>The OpenSSL function that failed.</summary>
        public string Call { get; }

        /// <summary>The first packed error code from the queue (0 when the queue was empty).</summary>
        public nuint ErrorCode { get; }
    }
}
