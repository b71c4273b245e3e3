using Baton.Channel;

namespace Baton.Tls;

/// <summary>Builds the numbered client-certificate settings (number n is index n − 1), the same way in the front and in a passthrough worker.</summary>
internal static class ClientCertificatePolicySet
{
    public static ClientCertificatePolicy[] Create(IReadOnlyList<ClientCertificateMaterial> materials)
    {
        var policies = new List<ClientCertificatePolicy>(materials.Count);
        try
        {
            for (int i = 0; i < materials.Count; i++)
                policies.Add(ClientCertificatePolicy.Create(materials[i], i + 1));
        }
        catch
        {
            policies.ForEach(policy => policy.Dispose());
            throw;
        }
        return [.. policies];
    }
}
